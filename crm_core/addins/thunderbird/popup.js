/* The message display button's popup: the card of the displayed message's sender (card.js). */
"use strict";

/** The message shown in this tab (Thunderbird 128+: a list, older: one message). */
async function displayedMessage(tabId) {
  const display = messenger.messageDisplay;
  if (display.getDisplayedMessages) {
    const shown = await display.getDisplayedMessages(tabId);
    const list = Array.isArray(shown) ? shown : (shown && shown.messages) || [];
    return list[0] || null;
  }
  return display.getDisplayedMessage(tabId);
}

(async function () {
  const root = document.getElementById("leadradar");
  const t = Leadradar.translator(messenger.i18n.getUILanguage());
  const settings = await messenger.storage.local.get({ url: LEADRADAR_DEFAULTS.url, token: "" });
  const [tab] = await messenger.tabs.query({ active: true, currentWindow: true });
  const message = tab ? await displayedMessage(tab.id) : null;
  await Leadradar.showSender({
    root,
    t,
    sender: Leadradar.parseSender(message && message.author),
    settings,
    openUrl: (url) => messenger.windows.openDefaultBrowser(url),
    openSettings: () => messenger.runtime.openOptionsPage(),
  });
})();
