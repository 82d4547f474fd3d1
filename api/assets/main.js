// Dispatches to the page named by <body data-page>.
"use strict";

(function () {
  const page = document.body.dataset.page;
  for (const link of document.querySelectorAll(".nav a")) {
    if (link.dataset.nav === page) link.setAttribute("aria-current", "page");
  }
  TH.wireTopSearch();
  const render = TH.pages[page];
  const failed = (err) => {
    const main = document.getElementById("main");
    main.replaceChildren(TH.notice("error", "This page failed to render", String((err && err.stack) || err)));
  };
  if (render) {
    try {
      Promise.resolve(render()).catch(failed);
    } catch (err) {
      failed(err);
    }
  }
})();
