/** Building DOM and SVG elements. Text only ever goes in as text nodes: data is never parsed as markup. */

const SVG_NS = 'http://www.w3.org/2000/svg';

type Attributes = Record<string, string | number>;

export function html<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  text?: string
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  text?: string
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  if (text !== undefined) {
    element.textContent = text;
  }
  return element;
}

function setAttributes(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, String(value));
  }
}

/** `text` cut to `limit` characters, with an ellipsis when cut. */
export function shorten(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** A version short enough to draw: a fingerprint's algorithm and first 8 digits, or a registry version. */
export function shortVersion(version: string | null): string {
  if (!version) {
    return 'version unknown';
  }
  const [algorithm, digest] = version.includes(':') ? version.split(':', 2) : ['', version];
  if (algorithm) {
    return `${algorithm}:${digest.slice(0, 8)}`;
  }
  return /^[0-9]+$/.test(version) ? `v${version}` : shorten(version, 14);
}
