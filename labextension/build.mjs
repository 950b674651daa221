// Bundles the anywidget entry into one ES module (and its CSS) inside the Python package.
import * as esbuild from 'esbuild';

const options = {
  entryPoints: { widget: 'src/widget.ts' },
  outdir: '../nblineage/widgets/static',
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'info'
};

if (process.argv.includes('--watch')) {
  await (await esbuild.context(options)).watch();
} else {
  await esbuild.build(options);
}
