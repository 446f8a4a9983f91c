// The API docs page (/api/v1/docs): Swagger UI on the OpenAPI document named by
// the page. A file of its own, so the page's policy allows no inline script.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") { return; }
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    persistAuthorization: true,
    // No badge from an outside validator: the page loads nothing from elsewhere.
    validatorUrl: null
  });
})();
