// Launches Debian's Chromium headless through playwright-core (no Playwright browser download).
import { type Browser, chromium } from 'playwright-core';
import { chromiumPath } from './paths';

/** Flags measured to work as root in a container (see ../shared/design/E2E.md). */
const chromiumFlags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumFlags, timeout: 60_000 });
}
