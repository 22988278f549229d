// One test file's backend and `wx`, as spawn_app is for the Rust tests: started before its tests, stopped after,
// and a fresh customer session (no token, network up) for each test.
const test = require('node:test')
const { startBackend } = require('./backend')
const wxs = require('./wx')

// `setup(backend)` runs once the backend is up, in the same hook (node runs separate before hooks concurrently).
// `options` go to startBackend.
function useBackend(setup = async () => {}, options = {}) {
  const app = {}
  test.before(async () => {
    app.backend = await startBackend(options)
    wxs.installWx(app.backend.baseUrl)
    await setup(app.backend)
  })
  test.after(() => app.backend.stop())
  test.beforeEach(() => wxs.resetSession())
  return app
}

// The demo calendar's live campaign, as the customer API shows it.
async function liveCampaign(backend) {
  const calendar = await (await fetch(`${backend.baseUrl}/api/v1/calendar`)).json()
  const slug = calendar.campaigns.find((c) => c.status === 'live').slug
  return (await fetch(`${backend.baseUrl}/api/v1/campaigns/${slug}`)).json()
}

module.exports = { useBackend, liveCampaign }
