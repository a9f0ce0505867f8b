/* The add-on's options: leadradar's address and the user's API token, entered once. */
"use strict";

(async function () {
  const stored = await messenger.storage.local.get({ url: LEADRADAR_DEFAULTS.url, token: "" });
  Leadradar.settingsForm({
    root: document.getElementById("leadradar"),
    t: Leadradar.translator(messenger.i18n.getUILanguage()),
    url: stored.url,
    token: stored.token,
    urlEditable: true,
    save: (url, token) => messenger.storage.local.set({ url, token }),
  });
})();
