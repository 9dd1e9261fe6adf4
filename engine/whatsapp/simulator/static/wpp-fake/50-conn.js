  // wpp-fake, part 5: WPP.conn (QR, pairing codes, stream state, logout).
  // (The parts are the body of one function, joined in name order by simulator/bundle.py.)
  // --- WPP.conn -------------------------------------------------------------------------------
  const isAuthenticated = () => st.linked;
  // genLinkDeviceCodeForPhoneNumber.ts
  const genLinkDeviceCodeForPhoneNumber = async (phone, sendPushNotification = true) => {
    needReady('conn.genLinkDeviceCodeForPhoneNumber');
    if (!phone || typeof phone !== 'string') {
      throw new WPPError(
        'send_the_phone_number_to_connect',
        "Can't get code for without phone number param",
      );
    }
    if (isAuthenticated()) {
      throw new WPPError(
        'cannot_get_code_for_already_authenticated',
        "Can't get code for already authenticated user",
      );
    }
    return request('link_code', { phone, sendPush: sendPushNotification });
  };

  // linkDeviceCodeLifecycle.ts: the managed flow. A code lives LINK_CODE_TTL_MS (here the
  // simulator's link_code_ttl_s); at most MAX_AUTO_REFRESHES automatic refreshes, then
  // conn.link_code_expired. Cancelled on conn.authenticated, conn.logout and conn.main_ready.
  const MAX_AUTO_REFRESHES = 5;
  const linkCode = {
    state: { code: null, epoch: 0, inFlight: null, phone: null, refreshCount: 0, timer: null },
    sendPush: true,
    clearTimer() {
      if (this.state.timer) clearTimeout(this.state.timer);
      this.state.timer = null;
    },
    emitError(error) {
      ev.emit('conn.link_code_error', error instanceof Error ? error : new Error(String(error)));
    },
    scheduleRefresh() {
      this.clearTimer();
      const epoch = this.state.epoch;
      this.state.timer = setTimeout(() => this.onTimeout(epoch), config.link_code_ttl_s * 1000);
    },
    onTimeout(epoch) {
      const s = this.state;
      if (epoch !== s.epoch || !s.phone) return;
      if (s.refreshCount >= MAX_AUTO_REFRESHES) {
        s.code = null;
        s.timer = null;
        ev.emit('conn.link_code_expired');
        return;
      }
      s.refreshCount++;
      refreshLinkDeviceCode().catch(() => undefined);
    },
    async generate() {
      const s = this.state;
      if (!s.phone) throw new Error('No phone linking flow is active');
      if (s.inFlight) return s.inFlight;
      const epoch = s.epoch;
      const operation = genLinkDeviceCodeForPhoneNumber(s.phone, this.sendPush).then((code) => {
        if (epoch !== s.epoch) return code;
        s.code = code;
        this.scheduleRefresh();
        ev.emit('conn.link_code_change', code);
        return code;
      });
      s.inFlight = operation;
      try {
        return await operation;
      } finally {
        if (s.inFlight === operation) s.inFlight = null;
      }
    },
  };
  const startLinkDeviceCodeForPhoneNumber = async (phone, sendPushNotification = true) => {
    const s = linkCode.state;
    if (s.phone === phone) {
      if (s.code) return s.code;
      if (s.inFlight) return s.inFlight;
    } else {
      cancelLinkDeviceCode();
    }
    s.phone = phone;
    linkCode.sendPush = sendPushNotification;
    s.refreshCount = 0;
    try {
      return await linkCode.generate();
    } catch (error) {
      s.code = null;
      linkCode.emitError(error);
      throw error;
    }
  };
  const refreshLinkDeviceCode = async () => {
    const s = linkCode.state;
    if (!s.phone) throw new Error('No phone linking flow is active');
    if (s.inFlight) await s.inFlight;
    linkCode.clearTimer();
    s.code = null;
    try {
      return await linkCode.generate();
    } catch (error) {
      linkCode.emitError(error);
      throw error;
    }
  };
  const cancelLinkDeviceCode = () => {
    const s = linkCode.state;
    s.epoch++;
    linkCode.clearTimer();
    Object.assign(s, { code: null, inFlight: null, phone: null, refreshCount: 0 });
    linkCode.sendPush = true;
  };
  for (const event of ['conn.authenticated', 'conn.logout', 'conn.main_ready']) {
    ev.on(event, cancelLinkDeviceCode);
  }

  const ready = (path, fn) =>
    function guarded(...args) {
      needReady(path);
      return fn(...args);
    };
  const getMyUserLid = () => {
    // UserPrefs.getMeLidUserOrThrow
    if (!me.lid) throw new Error('getMeLidUserOrThrow: me lid user is not defined');
    return me.lid;
  };
  const getMyUserWid = () => me.wid || undefined;

  WPP.conn = {
    getAuthCode: ready('conn.getAuthCode', async () => authCode()),
    // refreshQR.ts: null when authenticated, else Cmd.refreshQR() and the next auth code.
    refreshQR: ready('conn.refreshQR', async () => {
      if (isAuthenticated()) return null;
      const next = ev.waitFor('conn.auth_code_change');
      request('refresh_qr').catch(() => undefined);
      return (await next)[0];
    }),
    genLinkDeviceCodeForPhoneNumber,
    startLinkDeviceCodeForPhoneNumber: ready(
      'conn.startLinkDeviceCodeForPhoneNumber',
      startLinkDeviceCodeForPhoneNumber,
    ),
    refreshLinkDeviceCode: ready('conn.refreshLinkDeviceCode', refreshLinkDeviceCode),
    cancelLinkDeviceCode: ready('conn.cancelLinkDeviceCode', cancelLinkDeviceCode),
    isAuthenticated: ready('conn.isAuthenticated', isAuthenticated),
    isRegistered: ready('conn.isRegistered', () => st.linked && st.registered),
    isMainReady: ready('conn.isMainReady', () => st.mode === 'MAIN'),
    isOnline: ready('conn.isOnline', () => st.online),
    isIdle: ready('conn.isIdle', () => st.socket === 'UNPAIRED_IDLE'), // isIdle.ts
    getStreamData: ready('conn.getStreamData', () => ({ mode: st.mode, info: st.info })),
    getMyUserId: ready('conn.getMyUserId', getMyUserWid),
    getMyUserWid: ready('conn.getMyUserWid', getMyUserWid),
    getMyUserLid: ready('conn.getMyUserLid', getMyUserLid),
    setKeepAlive: ready('conn.setKeepAlive', () => true),
    // logout.ts: Socket.logout(), then true once Cmd 'logout' fired; WhatsApp Web then
    // reloads the page (to a fresh QR).
    logout: ready('conn.logout', async () => {
      await request('logout');
      await tokenStore.remove();
      await msgDb.clear();
      st.linked = st.registered = false;
      ev.emit('conn.logout');
      reloadSoon();
      return true;
    }),
  };
