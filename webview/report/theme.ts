// Chart colours from the page's CSS: VS Code theme variables in the panel, fallbacks in the standalone HTML.
import type { BoundMethod } from '../../server/report/model';

export interface Theme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  fontFamily: string;
  method: Record<BoundMethod, string>;
  graft: string;
  prune: string;
  original: string;
  grafted: string;
}

/** Reads the `--gc-*` custom properties defined in report.css (they resolve the `--vscode-*` ones). */
export function readTheme(): Theme {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    foreground: read('--gc-fg', '#1f2328'),
    muted: read('--gc-muted', '#6e7781'),
    grid: read('--gc-grid', 'rgba(128, 128, 128, 0.25)'),
    background: read('--gc-bg', '#ffffff'),
    fontFamily: read('--gc-font', 'system-ui, sans-serif'),
    method: {
      ibp: read('--gc-ibp', '#d18616'),
      crown: read('--gc-crown', '#1a85ff'),
      'alpha-crown': read('--gc-alpha', '#388a34'),
    },
    graft: read('--gc-graft', '#1a85ff'),
    prune: read('--gc-prune', '#e51400'),
    original: read('--gc-original', '#d18616'),
    grafted: read('--gc-grafted', '#1a85ff'),
  };
}

/** The same colour with an alpha, for "after" bars and fills; works for #rgb, #rrggbb and rgb(). */
export function withAlpha(colour: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(colour);
  if (hex) {
    const digits = hex[1].length === 3 ? [...hex[1]].map((d) => d + d).join('') : hex[1];
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgb = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(colour);
  if (rgb) return `rgba(${rgb[1].trim()}, ${rgb[2].trim()}, ${rgb[3].trim()}, ${alpha})`;
  return colour;
}
