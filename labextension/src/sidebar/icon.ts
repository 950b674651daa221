/** The sidebar's icon: three nodes joined left to right, drawn in the theme's icon colour. */

import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="6" r="2.6"/><circle cx="5" cy="18" r="2.6"/><rect x="15" y="9.4" width="7" height="5.2" rx="1"/>
    <path d="M7.4 6.9 15 11l-.8 1.4-7.6-4.1zM7.4 17.1l7.6-4.1.8 1.4-7.6 4.1z"/>
  </g>
</svg>`;

export const lineageIcon = new LabIcon({ name: 'nblineage:lineage', svgstr });
