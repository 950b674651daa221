import { sortableTable, sortRows } from '../src/graph/table';

describe('sortable tables', () => {
  it('sorts numbers as numbers and keeps empty cells last, both ways', () => {
    const rows = [['b', 10], ['a', 9], ['c', null]];
    expect(sortRows(rows, 1, true).map(row => row[0])).toEqual(['a', 'b', 'c']);
    expect(sortRows(rows, 1, false).map(row => row[0])).toEqual(['b', 'a', 'c']);
    expect(sortRows(rows, -1, true)).toBe(rows);
  });

  it('sorts by a column when its header is clicked, and reverses on a second click', () => {
    const table = sortableTable({ title: 'Inputs', columns: ['dataset', 'rows'], rows: [['x', 2], ['y', 11]] });
    const firstColumn = () => [...table.querySelectorAll('tbody tr')].map(row => row.firstElementChild?.textContent);
    const rowsButton = table.querySelectorAll('th button')[1] as HTMLButtonElement;
    rowsButton.click();
    expect(firstColumn()).toEqual(['x', 'y']);
    rowsButton.click();
    expect(firstColumn()).toEqual(['y', 'x']);
    expect(table.querySelectorAll('th')[1].getAttribute('aria-sort')).toBe('descending');
  });

  it('marks a key/value table so its keys are never broken mid-word, and says when it is empty', () => {
    const keyed = sortableTable({ title: 'Node', columns: ['', 'value'], rows: [['namespace', 'file']], keyed: true });
    expect(keyed.classList.contains('nbl-keyed')).toBe(true);
    const plain = sortableTable({ title: 'Schema', columns: ['name'], rows: [] });
    expect(plain.classList.contains('nbl-keyed')).toBe(false);
    expect(plain.textContent).toContain('none recorded');
  });
});
