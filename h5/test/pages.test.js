// The H5 pages in a real browser, against the real backend: they render, work, and log no error.
const test = require('node:test')
const assert = require('node:assert')
const path = require('node:path')
const { startBackend } = require('../../mini-program/test/support/backend')
const { launch } = require('./browser')

const calendarFile = path.join(__dirname, 'fixtures', 'h5-calendar.toml')
let backend
let chromium

test.before(async () => {
  backend = await startBackend({ env: { APP__DEMO__CALENDAR_FILE: calendarFile } })
  chromium = await launch()
})
test.after(async () => {
  await chromium.close()
  await backend.stop()
})

test('the education-fund calculator plans from the backend and shows the figures, with no console error', async () => {
  const { page, problems } = await chromium.page()
  const response = await page.goto(`${backend.baseUrl}/h5/calculator/h5-test-2026/h5-calculator`)
  assert.strictEqual(response.status(), 200)
  assert.match(response.headers()['content-security-policy'], /script-src 'self' https:\/\/res\.wx\.qq\.com/)
  assert.strictEqual(await page.title(), '教育金计算器')
  await page.fill('input[name=child_age]', '6')
  await page.fill('input[name=target_yuan]', '300000')
  await page.fill('input[name=savings_yuan]', '50000')
  await page.click('button[type=submit]')
  await page.waitForSelector('#result:not([hidden])')
  assert.strictEqual(await page.textContent('#years'), '12')
  assert.strictEqual(await page.textContent('#future-cost'), '427,728.27')
  assert.strictEqual(await page.textContent('#monthly'), '2,064.72')
  // Outside WeChat there is no share card, and the page says where sharing works.
  assert.strictEqual(await page.isVisible('#share-hint'), true)
  assert.deepStrictEqual(problems, [])

  // A refused input is shown in Chinese, and the old figures go.
  await page.fill('input[name=child_age]', '18')
  await page.click('button[type=submit]')
  await page.waitForSelector('#error:not([hidden])')
  assert.strictEqual(await page.textContent('#error'), '填写的内容有误，请检查后重试')
  assert.strictEqual(await page.isVisible('#result'), false)
  // The browser's own note of the 400 answer is all it logged.
  assert.deepStrictEqual(problems.map((p) => p.includes('status of 400')), [true])
})

test('a poster\'s share page shows the card the backend drew, and its words, with no console error', async () => {
  const login = await fetch(`${backend.baseUrl}/api/v1/auth/dev-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ openid: 'oH5PosterMaker01' }),
  })
  const token = (await login.json()).token.token
  const made = await fetch(`${backend.baseUrl}/api/v1/campaigns/h5-test-2026/posters/h5-poster`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': 'h5-poster-1' },
    body: JSON.stringify({ text: '新年快乐，万事如意' }),
  })
  assert.strictEqual(made.status, 200)
  const poster = await made.json()

  const { page, problems } = await chromium.page()
  const response = await page.goto(`${backend.baseUrl}${poster.page_url}`)
  assert.strictEqual(response.status(), 200)
  await page.waitForSelector('#poster:not([hidden])')
  assert.strictEqual(await page.textContent('#title'), '心愿卡')
  assert.strictEqual(await page.textContent('#text'), '新年快乐，万事如意')
  const size = await page.$eval('#image', (img) => [img.naturalWidth, img.naturalHeight])
  assert.deepStrictEqual(size, [750, 1200])
  assert.deepStrictEqual(problems, [])

  // An unknown poster says so in Chinese.
  const missing = await chromium.page()
  await missing.page.goto(`${backend.baseUrl}/h5/posters/ZZZZZZZZ`)
  await missing.page.waitForSelector('#error:not([hidden])')
  assert.strictEqual(await missing.page.textContent('#error'), '海报不存在或已失效')
})
