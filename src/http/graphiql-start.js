// Runs in the browser on /graphiql, after React, ReactDOM and GraphiQL's bundle (all served by
// Gatehouse). A file of its own because the page's Content-Security-Policy allows no inline script.
/* global document, window, React, ReactDOM, GraphiQL */
'use strict';

(function startGraphiQL() {
  const container = document.getElementById('graphiql');
  const fetcher = GraphiQL.createFetcher({
    url: container.dataset.endpoint,
    // The session cookie goes with every query; it is never sent to another origin.
    fetch: (input, init) => window.fetch(input, { ...init, credentials: 'same-origin' }),
  });
  const defaultQuery = `# Queries run as the signed-in user: what you may see follows your permissions.
# Run with Ctrl-Enter; the Docs button lists every query and the permission it needs.

{
  me {
    user {
      username
    }
    permissions
  }
}
`;
  ReactDOM.createRoot(container).render(React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: false }));
})();
