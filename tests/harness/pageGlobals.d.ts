// The debug hook the client exposes (client/main.ts), as the e2e tests see it.
import type { Terminal } from '@xterm/xterm';

declare global {
  interface Window {
    __webssh?: { readonly term: Terminal; state(): string };
  }
}
