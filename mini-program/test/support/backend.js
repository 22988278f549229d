// Starts the real backend (the built binary, on embedded defaults with the demo calendar) on a temp SQLite file
// and a free port, with WeChat's API pointed at a fake jscode2session: WeChat is the only fake.
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')

const repoRoot = path.resolve(__dirname, '../../..')
const binary = process.env.WXC_BIN || path.join(process.env.CARGO_TARGET_DIR || path.join(repoRoot, 'target'), 'debug', 'wxcampaign')

// config/base.toml's mini-program app id: WeChat puts the app's id in the phone number's watermark.
const MINI_PROGRAM_APP_ID = 'wx1111111111111111'

function freePort() {
  return new Promise((resolve, reject) => {
    const server = http.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

// WeChat's jscode2session, access token and phone number. A login code `bad-*` is refused as WeChat refuses a used code; any other becomes openid o_<code>.
async function startFakeWeChat() {
  const calls = { jscode2session: 0, phone: 0 }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://fake')
    res.setHeader('content-type', 'application/json')
    if (url.pathname === '/sns/jscode2session') {
      calls.jscode2session += 1
      const code = url.searchParams.get('js_code') || ''
      if (code.startsWith('bad-')) {
        res.end(JSON.stringify({ errcode: 40029, errmsg: 'invalid code' }))
      } else {
        res.end(JSON.stringify({ openid: `o_${code}`.slice(0, 64), session_key: 'c2Vzc2lvbi1rZXktZmFrZQ==' }))
      }
      return
    }
    if (url.pathname === '/cgi-bin/stable_token') {
      res.end(JSON.stringify({ access_token: 'fake-access-token', expires_in: 7200 }))
      return
    }
    if (url.pathname === '/wxa/msg_sec_check') {
      // The content check passes every text but one that says so.
      let body = ''
      req.on('data', (chunk) => (body += chunk))
      req.on('end', () => {
        const suggest = body.includes('不当内容') ? 'risky' : 'pass'
        res.end(JSON.stringify({ errcode: 0, errmsg: 'ok', result: { suggest, label: 100 } }))
      })
      return
    }
    if (url.pathname === '/wxa/img_sec_check') {
      // The image check passes every image.
      req.resume()
      req.on('end', () => res.end(JSON.stringify({ errcode: 0, errmsg: 'ok' })))
      return
    }
    if (url.pathname === '/wxa/business/getuserphonenumber') {
      calls.phone += 1
      res.end(JSON.stringify({
        errcode: 0,
        errmsg: 'ok',
        phone_info: {
          phoneNumber: '13812345678',
          purePhoneNumber: '13812345678',
          countryCode: '86',
          watermark: { appid: MINI_PROGRAM_APP_ID, timestamp: Math.floor(Date.now() / 1000) },
        },
      }))
      return
    }
    res.statusCode = 404
    res.end(JSON.stringify({ errcode: 404, errmsg: 'not faked' }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, calls, url: `http://127.0.0.1:${server.address().port}` }
}

async function waitUntilHealthy(baseUrl, child, log) {
  const deadline = Date.now() + 60000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`backend exited (${child.exitCode}):\n${log()}`)
    try {
      const res = await fetch(`${baseUrl}/healthz`)
      if (res.ok) return
    } catch (_) {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`backend did not come up:\n${log()}`)
}

// `env`: settings of this backend's own (APP__SECTION__KEY), e.g. another demo calendar.
async function startBackend({ env = {} } = {}) {
  if (!fs.existsSync(binary)) {
    throw new Error(`no backend binary at ${binary}: run \`cargo build\` first or set WXC_BIN`)
  }
  const wechat = await startFakeWeChat()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wxc-mp-'))
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  let output = ''
  const backendEnv = {
    APP_ENVIRONMENT: 'local',
    APP__APPLICATION__PORT: String(port),
    APP__APPLICATION__BASE_URL: baseUrl,
    APP__DATABASE__URL: `sqlite://${path.join(dir, 'wxc.db')}?mode=rwc`,
    APP__WECHAT__API_BASE_URL: wechat.url,
    APP__TELEMETRY__LEVEL: 'warn',
    ...env,
  }
  const child = spawn(binary, [], {
    cwd: repoRoot,
    env: { ...process.env, ...backendEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  await waitUntilHealthy(baseUrl, child, () => output)
  let staffCount = 0
  return {
    baseUrl,
    // A staff token of `role`: the account made with the CLI an operator would use, then a real staff login.
    async staffToken(role) {
      staffCount += 1
      const username = `${role}-${staffCount}`
      const password = `mp-test-password-${process.pid}`
      execFileSync(binary, ['admin', 'create-user', '--username', username, '--role', role], {
        cwd: repoRoot,
        env: { ...process.env, ...backendEnv, WXCAMPAIGN_ADMIN_PASSWORD: password },
        stdio: 'pipe',
      })
      const res = await fetch(`${baseUrl}/admin/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      })
      const body = await res.json()
      if (!res.ok) throw new Error(`staff login: ${res.status} ${JSON.stringify(body)}`)
      return body.token.token
    },
    wechat: wechat.calls,
    log: () => output,
    async stop() {
      child.kill('SIGTERM')
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)))
      wechat.server.close()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

module.exports = { startBackend }
