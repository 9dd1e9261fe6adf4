// Globals of the page that the bridge (bridge/*.js) runs in, typed for `tsc --noEmit --checkJs`
// (make typecheck-js). `WPP` is the real @wppconnect/wa-js package type (its shipped .d.ts), so a call
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
  /** How long a binding call may stay unsettled before the next batch goes anyway (10 s;
   * tests shorten it in the page). */
  emitStallMs?: number;
}

/** One event for the driver (`engine/whatsapp/page_events.py` decodes it). */
export interface BridgePayload {
  event: string;
  data: unknown;
}

/** A set of ids that forgets its oldest entries beyond a bound (bridge/core.js `boundedSet`). */
export interface BoundedSet {
  add(value: string): void;
  has(value: string): boolean;
}

/** bridge/media.js, called through `window.__waops` (the driver's download and send_media). */
export interface BridgeMedia {
  mediaOpen(arg: { id: string; maxBytes: number; deadlineMs: number }): Promise<{
    handle: string;
    size: number;
    mimetype: string | null;
  }>;
  mediaRead(arg: { handle: string; offset: number; length: number }): Promise<string>;
  mediaClose(handle: string): Promise<boolean>;
  isStaged(sha: string): Promise<boolean>;
  stage(arg: {
    sha: string;
    offset: number;
    total: number;
    data: string;
    mimetype: string;
  }): Promise<{ complete: boolean }>;
  sendFile(arg: {
    chatId: string;
    sha: string;
    kind: string;
    caption: string;
    filename: string | null;
    mimetype: string;
    messageId: string;
    keyId: string;
    delay: number;
    deadlineMs: number;
  }): Promise<Record<string, unknown>>;
}

/** The connection as WA-JS reports it (bridge/core.js `connection`). */
export interface Connection {
  linked: boolean;
  mode: string;
  info: string;
  online: boolean;
}

/**
 * What the bridge's parts share, as `window.__waopsBridge`. The driver injects them in the order
 * of page_events.BRIDGE_JS_PATHS: core.js creates this object and each later part adds its own
 * members, reading only those of the parts before it.
 */
export interface BridgeShared {
  config: BridgeConfig;
  /** Serialised ids already forwarded (redeliveries, ciphertext). */
  delivered: BoundedSet;
  /** Key ids made by prepareSend: their echoes are not phone messages. */
  ours: BoundedSet;
  /** Key ids of ours whose message reached MsgStore (echo seen). */
  queued: BoundedSet;
  emit(event: string, data?: unknown): void;
  idString(v: unknown): string | null;
  fail(code: string, message: string): Error & { code: string };
  codeOf(e: unknown): string | null;
  messageOf(e: unknown): string;
  within<T>(promise: Promise<T>, ms: number, code: string): Promise<T>;
  serverOf(wid: string): string;
  connection(): Connection;
  assertConnected(): void;
  isConnected(): boolean;
  myId(): string | null;
  /** bridge/inbound.js: what the page's store holds that the driver may not have seen. */
  catchUp(arg: {
    sinceS: number;
    chats: number;
    perChat: number;
    deadlineMs: number;
  }): Promise<{ messages: unknown[]; newest: (string | null)[]; complete: boolean }>;
  /** bridge/media.js: downloads out of the page and files staged into it. */
  media: BridgeMedia;
  /** bridge/connection.js: the text a QR shows for an AuthCode. */
  qrText(auth: { fullCode?: string } | null | undefined): string | null;
}

declare global {
  interface Window {
    WPP: typeof WAJS;
    /** Exposed by the driver once per browser context (`BrowserContext.expose_binding`):
     * the events in the order they happened, one or more per call (bridge/core.js `emit`). */
    __waopsEmit: (payloads: BridgePayload[]) => Promise<void>;
    __waopsConfig?: BridgeConfig;
    __waops?: Record<string, (arg?: any) => unknown>;
    /** The bridge's shared state while its parts load (bridge/core.js). */
    __waopsBridge?: BridgeShared;
    /** WhatsApp Web's own module loader (WhatsApp >= 2.3000, the "meta" loader of WA-JS). */
    require?: (moduleId: string) => any;
  }
}
