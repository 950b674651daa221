/** Sortable tables: the answers in the details pane and the answer widgets. */

import { html } from './dom';

export type Cell = string | number | boolean | null;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** The first column names the rows (a key/value table): its words are never broken. */
  keyed?: boolean;
}

/** A table whose column headers sort it (click again to reverse); empty tables say so. */
export function sortableTable(table: Table): HTMLElement {
  const section = html('section', { class: table.keyed ? 'nbl-table nbl-keyed' : 'nbl-table' });
  section.appendChild(html('h4', {}, table.title));
  if (!table.rows.length) {
    section.appendChild(html('p', { class: 'nbl-empty' }, 'none recorded'));
    return section;
  }
  const element = html('table');
  const head = html('tr');
  const body = html('tbody');
  let sorted = { column: -1, ascending: true };
  const fill = () => {
    body.replaceChildren(
      ...sortRows(table.rows, sorted.column, sorted.ascending).map(row => {
        const line = html('tr');
        row.forEach(value => line.appendChild(html('td', {}, show(value))));
        return line;
      })
    );
  };
  table.columns.forEach((name, column) => {
    const cell = html('th', { scope: 'col', 'aria-sort': 'none' });
    const button = html('button', { type: 'button', title: `sort by ${name}` }, name);
    button.addEventListener('click', () => {
      sorted = { column, ascending: sorted.column === column ? !sorted.ascending : true };
      head.querySelectorAll('th').forEach(th => th.setAttribute('aria-sort', 'none'));
      cell.setAttribute('aria-sort', sorted.ascending ? 'ascending' : 'descending');
      fill();
    });
    cell.appendChild(button);
    head.appendChild(cell);
  });
  element.appendChild(html('thead')).appendChild(head);
  element.appendChild(body);
  fill();
  section.appendChild(element);
  return section;
}

/** Rows ordered by one column (numbers as numbers, empty cells last); column -1 keeps the given order. */
export function sortRows(rows: Cell[][], column: number, ascending: boolean): Cell[][] {
  if (column < 0) {
    return rows;
  }
  const sign = ascending ? 1 : -1;
  return [...rows].sort((a, b) => {
    const [x, y] = [a[column], b[column]];
    if (x === null || x === '' || y === null || y === '') {
      return (x === null || x === '' ? 1 : 0) - (y === null || y === '' ? 1 : 0);
    }
    if (typeof x === 'number' && typeof y === 'number') {
      return sign * (x - y);
    }
    return sign * String(x).localeCompare(String(y), undefined, { numeric: true });
  });
}

function show(value: Cell): string {
  if (value === null) {
    return '';
  }
  if (typeof value === 'number' && !Number.isInteger(value)) {
    return String(Number(value.toPrecision(6)));
  }
  return String(value);
}
