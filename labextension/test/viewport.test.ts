import { withinEdges } from '../src/graph/viewport';

describe('withinEdges', () => {
  it('centres a drawing that fits the view', () => {
    expect(withinEdges(-500, 800, 200)).toBe(300);
  });

  it('keeps a drawing larger than the view covering it: no empty band after its end', () => {
    // the centre node at the bottom of a 1000-high drawing, centred in a 400-high view, would leave 200 empty
    expect(withinEdges(200 - 1000, 400, 1000)).toBe(400 - 1000 - 24);
  });

  it('nor before its start', () => {
    expect(withinEdges(200, 400, 1000)).toBe(24);
  });

  it('leaves an offset already within the edges alone', () => {
    expect(withinEdges(-300, 400, 1000)).toBe(-300);
  });
});
