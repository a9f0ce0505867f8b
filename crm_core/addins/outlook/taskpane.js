/* The Outlook task pane (served by leadradar itself, so its API is this page's origin): the card
 * of the open message's sender (card.js).  The token is entered once and kept in the mailbox's
 * roaming settings, so it follows the user to Outlook on the web, new and classic Outlook. */
"use strict";

Office.onReady(function () {
  const root = document.getElementById("leadradar");
  const t = Leadradar.translator(Office.context.displayLanguage);
  const stored = Office.context.roamingSettings;
  const KEY = "leadradarToken";

  function openUrl(url) {
    if (Office.context.ui && Office.context.ui.openBrowserWindow) Office.context.ui.openBrowserWindow(url);
    else window.open(url, "_blank", "noopener");
  }

  function save(url, token) {
    return new Promise(function (resolve, reject) {
      stored.set(KEY, token);
      stored.saveAsync(function (result) {
        if (result.status === Office.AsyncResultStatus.Failed) reject(result.error);
        else resolve();
      });
    });
  }

  function openSettings() {
    Leadradar.settingsForm({ root, t, url: location.origin, token: stored.get(KEY) || "", urlEditable: false, save, done: show });
  }

  function show() {
    const item = Office.context.mailbox.item;
    const from = item && (item.from || item.sender);
    return Leadradar.showSender({
      root,
      t,
      sender: { email: from ? from.emailAddress : "", name: from ? from.displayName : "" },
      settings: { url: location.origin, token: stored.get(KEY) || "" },
      openUrl,
      openSettings,
    });
  }

  show();
  // A pinned task pane follows the selection (Mailbox 1.5); without it the pane closes instead.
  if (Office.context.mailbox.addHandlerAsync && Office.EventType && Office.EventType.ItemChanged) {
    Office.context.mailbox.addHandlerAsync(Office.EventType.ItemChanged, show);
  }
});
