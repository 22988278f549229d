// One test file's backend and `wx`, as spawn_app is for the Rust tests: started before its tests, stopped after,
// and a fresh customer session (no token, network up) for each test.
const test = require('node:test')
const { startBackend } = require('./backend')
const wxs = require('./wx')

// `setup(backend)` runs once the backend is up, in the same hook (node runs separate before hooks concurrently).
function useBackend(setup = async () => {}) {
  const app = {}
  test.before(async () => {
    app.backend = await startBackend()
    wxs.installWx(app.backend.baseUrl)
    await setup(app.backend)
  })
  test.after(() => app.backend.stop())
  test.beforeEach(() => wxs.resetSession())
  return app
}

module.exports = { useBackend }
