// Starts Swagger UI on /docs and /v1/docs, on the document data-spec-url names (kept out of the HTML so a strict Content-Security-Policy holds).
(function () {
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
})();
