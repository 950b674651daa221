/** The five answers about a model (`explain` as JSON, keys in camelCase) as tables. */

import { Cell, Table } from './table';

type Json = Record<string, unknown>;

/** One or more tables per question, in the order of the questions. */
export function answerTables(explain: Json): Table[] {
  const inputs = object(explain.inputs);
  const location = object(explain.location);
  return [
    rowsOf('1 · Models derived from it', array(explain.derivedModels), ['name', 'version', 'kind', 'depth']),
    rowsOf('2 · Input datasets', array(inputs.datasets).map(withQuality), [
      'name',
      'namespace',
      'version',
      'depth',
      'source',
      'quality'
    ]),
    {
      title: '2 · Features',
      columns: ['feature', 'from columns'],
      rows: array(inputs.features).map(feature => [
        cell(feature.name),
        array(feature.columns)
          .map(column => `${String(column.name)}.${String(column.field)}`)
          .join(', ')
      ])
    },
    keyValues('2 · Function', functionFacts(object(inputs.function))),
    rowsOf('3 · Performance', array(object(explain.performance).metrics), ['name', 'split', 'value', 'origin']),
    keyValues('4 · Resources', resourceFacts(object(explain.resources))),
    keyValues('5 · Location', locationFacts(location)),
    rowsOf('5 · Other copies of the same fit', array(location.sameFit), ['uri', 'kind', 'version', 'savedBy'])
  ];
}

/** A dataset's latest data-quality results in a word: passed, FAILED with the suites that failed, or nothing. */
function withQuality(dataset: Json): Json {
  const results = array(dataset.quality);
  const failed = results.filter(result => result.success !== true).map(result => String(result.suite));
  const word = results.length === 0 ? null : failed.length ? `FAILED: ${failed.join(', ')}` : 'passed';
  return { ...dataset, quality: word };
}

function functionFacts(fn: Json): Json {
  const facts = without(fn, ['hyperParameters', 'details', 'code']);
  const parameters = Object.entries(object(fn.hyperParameters)).map(([k, v]) => [`parameter ${k}`, v]);
  return { ...facts, ...Object.fromEntries(parameters), code: fn.code };
}

function resourceFacts(resources: Json): Json {
  const gpus = array(resources.gpus).map(gpu => String(gpu.name));
  return {
    'wall time (s)': resources.wallTimeSeconds,
    'CPU time (s)': resources.cpuTimeSeconds,
    'peak memory (bytes)': resources.peakMemoryBytes,
    GPUs: gpus.join(', '),
    'cell runs counted': resources.runs,
    cells: Array.isArray(resources.cells) ? resources.cells.join(', ') : null,
    ...Object.fromEntries(Object.entries(object(resources.mlflowSystemMetrics)).map(([k, v]) => [`MLflow ${k}`, v]))
  };
}

function locationFacts(location: Json): Json {
  const info = object(location.mlflow);
  const versions = array(info.registeredVersions).map(v => `${String(v.name)}/${String(v.version)}`);
  const mlflowFacts = Object.entries(without(info, ['registeredVersions'])).map(([k, v]) => [`MLflow ${k}`, v]);
  return {
    ...without(location, ['sameFit', 'mlflow']),
    ...Object.fromEntries(mlflowFacts),
    'registry versions': versions.join(', ') || null
  };
}

function rowsOf(title: string, items: Json[], columns: string[]): Table {
  return { title, columns, rows: items.map(item => columns.map(column => cell(item[column]))) };
}

function keyValues(title: string, facts: Json): Table {
  const rows = Object.entries(facts)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([key, value]): Cell[] => [key, cell(value)]);
  return { title, columns: ['', 'value'], rows };
}

/** A JSON value as one table cell: scalars as they are, anything else as JSON text. */
export function cell(value: unknown): Cell {
  if (value === null || value === undefined) {
    return null;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return JSON.stringify(value);
}

function without(json: Json, keys: string[]): Json {
  return Object.fromEntries(Object.entries(json).filter(([key]) => !keys.includes(key)));
}

function object(value: unknown): Json {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function array(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(object) : [];
}
