// Debian's Chromium (DESIGN.md section 7), headless, with the flags that keep it off this closed network, and a
// page that records every console error and uncaught exception, so a test can say there were none.
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { chromium } = require('playwright-core')

const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium'

async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wxc-chromium-'))
  // A fresh profile (--user-data-dir), which playwright takes as the persistent context's directory.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
  return {
    async page() {
      const page = await context.newPage()
      const problems = []
      page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`))
      page.on('pageerror', (error) => problems.push(`page: ${error.message}`))
      page.on('requestfailed', (request) => problems.push(`request: ${request.url()} ${request.failure().errorText}`))
      return { page, problems }
    },
    async close() {
      await context.close()
      fs.rmSync(profile, { recursive: true, force: true })
    },
  }
}

module.exports = { launch }
