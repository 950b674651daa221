/** Pan and zoom of an SVG drawing: drag the background to pan, wheel to zoom at the pointer, fit to the view. */

const MIN_SCALE = 0.05;
const MAX_SCALE = 4;
const FIT_MARGIN = 24;
/** Below this scale, text is too small to read and is not drawn (class `nbl-far`). */
const FAR_SCALE = 0.45;

export class Viewport {
  private x = 0;
  private y = 0;
  private scale = 1;
  /** The drawing's size while the view shows all of it: fitted again when the view's size changes (it had
   * none yet, or the details pane opened), until the user pans or zooms. */
  private fitted: { width: number; height: number; least: number } | null = null;

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly layer: SVGGElement
  ) {
    svg.addEventListener('wheel', event => this.onWheel(event), { passive: false });
    svg.addEventListener('pointerdown', event => this.onPointerDown(event));
    new ResizeObserver(() => {
      if (this.fitted) {
        this.fit(this.fitted.width, this.fitted.height, this.fitted.least);
      }
    }).observe(svg);
  }

  /** Zoom by `factor` around a point of the view (its centre by default). */
  zoom(factor: number, at?: { x: number; y: number }): void {
    const box = this.svg.getBoundingClientRect();
    const point = at ?? { x: box.width / 2, y: box.height / 2 };
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    this.x = point.x - ((point.x - this.x) * scale) / this.scale;
    this.y = point.y - ((point.y - this.y) * scale) / this.scale;
    this.scale = scale;
    this.fitted = null;
    this.apply();
  }

  /** Show the whole drawing (`width` × `height`), never larger than life nor smaller than `least`; false when
   * it does not fit at that size (the view then shows its middle). */
  fit(width: number, height: number, least = MIN_SCALE): boolean {
    const box = this.svg.getBoundingClientRect();
    this.fitted = { width, height, least };
    if (!box.width || !box.height) {
      return true;
    }
    const whole = this.wholeScale(width, height);
    this.scale = Math.max(least, whole);
    this.x = (box.width - width * this.scale) / 2;
    this.y = (box.height - height * this.scale) / 2;
    this.apply();
    return whole >= least;
  }

  /** The scale at which a drawing of `width` × `height` fits the view whole (at most 1; 0 before the view is in
   * the page). */
  wholeScale(width: number, height: number): number {
    const box = this.svg.getBoundingClientRect();
    if (!box.width || !box.height) {
      return 0;
    }
    const room = { width: Math.max(box.width - 2 * FIT_MARGIN, 1), height: Math.max(box.height - 2 * FIT_MARGIN, 1) };
    return Math.min(1, room.width / Math.max(width, 1), room.height / Math.max(height, 1));
  }

  /** Move the view so that a point of the drawing is in its middle; given the drawing's size, no further than
   * its edges: a drawing larger than the view fills it rather than leaving an empty band on one side. */
  centreOn(point: { x: number; y: number }, drawing?: { width: number; height: number }): void {
    const box = this.svg.getBoundingClientRect();
    this.x = box.width / 2 - point.x * this.scale;
    this.y = box.height / 2 - point.y * this.scale;
    if (drawing) {
      this.x = withinEdges(this.x, box.width, drawing.width * this.scale);
      this.y = withinEdges(this.y, box.height, drawing.height * this.scale);
    }
    this.fitted = null;
    this.apply();
  }

  /** Keep a point of the drawing in view after the view's size changed: fit all again when all was shown,
   * else move the point into the view when it is out of it (or too near its edge). */
  reveal(point: { x: number; y: number }, margin = 40): void {
    if (this.fitted) {
      this.fit(this.fitted.width, this.fitted.height, this.fitted.least);
      return;
    }
    const box = this.svg.getBoundingClientRect();
    const [x, y] = [this.x + point.x * this.scale, this.y + point.y * this.scale];
    if (x < margin || y < margin || x > box.width - margin || y > box.height - margin) {
      this.centreOn(point);
    }
  }

  private apply(): void {
    this.layer.setAttribute('transform', `translate(${this.x} ${this.y}) scale(${this.scale})`);
    this.svg.classList.toggle('nbl-far', this.scale < FAR_SCALE);
  }

  private onWheel(event: WheelEvent): void {
    event.preventDefault();
    const box = this.svg.getBoundingClientRect();
    this.zoom(Math.exp(-event.deltaY * 0.0015), { x: event.clientX - box.left, y: event.clientY - box.top });
  }

  private onPointerDown(event: PointerEvent): void {
    if (event.button !== 0 || (event.target as Element).closest('.nbl-node')) {
      return;
    }
    const start = { x: event.clientX - this.x, y: event.clientY - this.y };
    const move = (moved: PointerEvent) => {
      this.fitted = null;
      this.x = moved.clientX - start.x;
      this.y = moved.clientY - start.y;
      this.apply();
    };
    const stop = () => {
      this.svg.removeEventListener('pointermove', move);
      this.svg.removeEventListener('pointerup', stop);
      this.svg.classList.remove('nbl-panning');
    };
    this.svg.setPointerCapture?.(event.pointerId);
    this.svg.classList.add('nbl-panning');
    this.svg.addEventListener('pointermove', move);
    this.svg.addEventListener('pointerup', stop);
  }
}

/** An offset along one axis of a drawing `size` long in a view `view` long: centred when it fits, else kept so
 * that the drawing covers the view (its edges no more than the fit margin inside). */
export function withinEdges(offset: number, view: number, size: number): number {
  if (size + 2 * FIT_MARGIN <= view) {
    return (view - size) / 2;
  }
  return Math.min(FIT_MARGIN, Math.max(view - size - FIT_MARGIN, offset));
}
