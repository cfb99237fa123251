// Tiny DOM builder: elements from tag, class and children (never innerHTML: report text is data, not markup).

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: { className?: string; [attribute: string]: string | undefined } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (name === 'className') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** A report section: heading, optional one-line explanation, body. */
export function section(id: string, title: string, explanation: string | undefined, ...body: Child[]): HTMLElement {
  return el('section', { className: 'section', 'data-section': id }, el('h2', {}, title), explanation ? el('p', { className: 'explain' }, explanation) : null, ...body);
}

export function percent(fraction: number | undefined): string {
  return fraction === undefined || !Number.isFinite(fraction) ? '—' : `${(fraction * 100).toFixed(1)} %`;
}

export function seconds(value: number): string {
  if (value < 1) return `${(value * 1000).toFixed(0)} ms`;
  if (value < 120) return `${value.toFixed(1)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

/** ε as people write it for images: 0.1 stays 0.1, 0.00784… becomes 2/255. */
export function formatEps(eps: number): string {
  const short = String(eps);
  if (short.length <= 6) return short;
  const k = Math.round(eps * 255);
  if (k > 0 && Math.abs(eps * 255 - k) < 1e-6) return `${k}/255`;
  return String(Number(eps.toPrecision(4)));
}
