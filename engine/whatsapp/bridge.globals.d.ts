// Globals of the page that bridge.js runs in, typed for `tsc --noEmit --checkJs` (make
// typecheck-js). `WPP` is the real @wppconnect/wa-js package type (its shipped .d.ts), so a call
// or an option the pinned WA-JS does not have fails the check.
import type * as WAJS from '@wppconnect/wa-js';

/** What the driver injects before the bridge (`PlaywrightDriver._launch`). */
export interface BridgeConfig {
  /** Message types forwarded at all (engine/whatsapp/types.py CONVERSATION_TYPES). */
  conversationTypes: string[];
  /** Types whose `body` is a base64 thumbnail and whose text is `caption` (MEDIA_TYPES). */
  mediaTypes: string[];
  /** Bound of the LID/phone look-up per inbound message; it never holds a message back longer. */
  peerLookupMs: number;
}

/** One event for the driver (`engine/whatsapp/page_events.py` decodes it). */
export interface BridgePayload {
  event: string;
  data: unknown;
}

declare global {
  interface Window {
    WPP: typeof WAJS;
    /** Exposed by the driver once per browser context (`BrowserContext.expose_binding`). */
    __waopsEmit: (payload: BridgePayload) => Promise<void>;
    __waopsConfig?: BridgeConfig;
    __waops?: Record<string, (arg?: any) => unknown>;
    /** WhatsApp Web's own module loader (WhatsApp >= 2.3000, the "meta" loader of WA-JS). */
    require?: (moduleId: string) => any;
  }
}
