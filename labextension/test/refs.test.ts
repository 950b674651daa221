import { cellOf, lastPart, nodeQuery, relativeTo } from '../src/sidebar/refs';

describe('nodeQuery', () => {
  it('names a node exactly: a notebook hit is a job, a null version the "version unknown" node', () => {
    expect(nodeQuery({ kind: 'notebook', namespace: 'jupyter', name: '/w/a.ipynb' })).toEqual({
      node: '/w/a.ipynb',
      namespace: 'jupyter',
      kind: 'job'
    });
    expect(nodeQuery({ kind: 'dataset', namespace: 'file', name: '/d.csv', version: null }).version).toBe('');
    expect(nodeQuery({ kind: 'model', namespace: 'file', name: '/m', version: 'xxh3:1' }).version).toBe('xxh3:1');
  });
});

describe('cellOf', () => {
  it("splits a cell job's name at its last #", () => {
    expect(cellOf('/w/my#notebook.ipynb#c-42')).toEqual({ notebook: '/w/my#notebook.ipynb', cellId: 'c-42' });
    expect(cellOf('/w/a.ipynb')).toBeNull();
    expect(cellOf('/w/a.ipynb#')).toBeNull();
  });
});

describe('relativeTo', () => {
  it('gives paths under the root relative to it, and nothing outside it', () => {
    expect(relativeTo('/home/ana', '/home/ana/churn/train.ipynb')).toBe('churn/train.ipynb');
    expect(relativeTo('/home/ana/', '/home/ana/train.ipynb')).toBe('train.ipynb');
    expect(relativeTo('/home/ana', '/home/anab/train.ipynb')).toBeNull();
    expect(relativeTo('/home/ana', '/home/ana/../bob/x.ipynb')).toBeNull();
    expect(relativeTo(undefined, '/home/ana/train.ipynb')).toBeNull();
  });
});

describe('lastPart', () => {
  it('shows the last part of a path', () => {
    expect(lastPart('/data/customers.csv')).toBe('customers.csv');
    expect(lastPart('s3://bucket/dir/')).toBe('dir');
    expect(lastPart('table')).toBe('table');
  });
});
