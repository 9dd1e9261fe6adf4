// @ts-check
// waops page bridge, connection (after core.js): the QR text, and the pairing, stream and
// logout events forwarded as they come; `bridge.ready` once WA-JS is ready on this page.
(() => {
  'use strict';
  const bridge = window.__waopsBridge;
  if (window.__waops || !bridge) return;
  const WPP = window.WPP;
  const { emit, messageOf, connection } = bridge;

  // --- QR -------------------------------------------------------------------------------------
  // src/conn/functions/getAuthCode.ts: fullCode = [ref, staticKeyPair, identityKeyPair,
  // secretKey].join(','), four fields. Real WhatsApp Web (its WAWebLinkDeviceQrcode.react module)
  // renders a fifth one, WAWebCompanionRegClientUtils.DEVICE_PLATFORM, and whatsapp-web.js
  // (Client.js), Baileys (PR #2460), whatsmeow (PR #1110) and whatsapp-rust (PR #593) now append
  // it too; primary phones were reported to start rejecting the 4-field form. We append it when
  // WhatsApp Web's own module tells it, and keep WA-JS's text otherwise (off WhatsApp Web).
  const devicePlatform = () => {
    try {
      const utils = window.require && window.require('WAWebCompanionRegClientUtils');
      const platform = utils && utils.DEVICE_PLATFORM;
      return platform == null || platform === '' ? null : String(platform);
    } catch (e) {
      return null;
    }
  };
  /** @param {{fullCode?: string} | null | undefined} auth */
  const qrText = (auth) => {
    if (!auth || !auth.fullCode) return null;
    const platform = devicePlatform();
    return platform && auth.fullCode.split(',').length === 4
      ? `${auth.fullCode},${platform}`
      : auth.fullCode;
  };

  /** @type {string | null | undefined} */
  let lastCode;
  /** @param {{fullCode?: string} | null | undefined} auth */
  const forwardCode = (auth) => {
    const code = qrText(auth);
    if (code === lastCode) return;
    lastCode = code;
    emit('conn.auth_code_change', code);
  };
  let lastStream = '';
  const forwardStream = () => {
    let c;
    try {
      c = connection();
    } catch (e) {
      return; // the Stream model is not loaded yet
    }
    const key = `${c.mode}/${c.info}`;
    if (key === lastStream) return;
    lastStream = key;
    emit('conn.stream', { mode: c.mode, info: c.info });
  };

  // --- connection and pairing events ------------------------------------------------------
  /** @type {string | null} */
  let logoutReason = null;
  WPP.on('conn.auth_code_change', forwardCode); // registerAuthCodeChangeEvent.ts
  WPP.on('conn.qrcode_idle', () => emit('conn.qrcode_idle')); // registerQRCodeIdleEvent.ts
  // src/conn/functions/linkDeviceCodeLifecycle.ts: a string code per (re)generation, expiry
  // after the automatic refreshes, an Error on failure.
  WPP.on('conn.link_code_change', (code) => emit('conn.link_code_change', String(code)));
  WPP.on('conn.link_code_expired', () => emit('conn.link_code_expired'));
  WPP.on('conn.link_code_error', (error) => emit('conn.link_code_error', messageOf(error)));
  WPP.on('conn.authenticated', () => emit('conn.authenticated'));
  WPP.on('conn.logout_reason', (reason) => {
    logoutReason = reason == null ? null : String(reason);
  });
  WPP.on('conn.logout', () => {
    emit('conn.logout', logoutReason);
    logoutReason = null;
  });
  WPP.on('conn.stream_mode_changed', forwardStream); // registerStreamEvent.ts
  WPP.on('conn.stream_info_changed', forwardStream);
  WPP.on('conn.online', (online) => emit('conn.online', !!online));

  // src/loader/index.ts: onReady listens for 'loader.ready', which fires once per page load.
  const onReady = () => {
    emit('bridge.ready');
    forwardStream();
    WPP.conn.getAuthCode().then(forwardCode, () => {});
  };
  if (WPP.isReady) onReady();
  else WPP.loader.onReady(onReady);

  bridge.qrText = qrText;
})();
