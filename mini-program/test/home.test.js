const test = require('node:test')
const assert = require('node:assert')
const { useBackend } = require('./support/app')
const wxs = require('./support/wx')

const app = useBackend()

test('home lists the live campaign of the demo calendar with its countdown', async () => {
  const calendar = await (await fetch(`${app.backend.baseUrl}/api/v1/calendar`)).json()
  const live = calendar.campaigns.find((c) => c.status === 'live')
  assert.ok(live, 'the demo calendar has a live campaign today')

  const page = await wxs.openPage('home')
  const cards = page.querySelectorAll('.campaign')
  assert.strictEqual(cards.length, calendar.campaigns.length)
  const text = page.dom.textContent
  assert.ok(text.includes(live.name), `the page shows ${live.name}`)
  assert.match(text, /进行中 ·\s*距结束 \d+天\d+小时/)

  cards[0].dispatchEvent('tap')
  await wxs.simulate.sleep(0)
  assert.deepStrictEqual(wxs.navigations, [`/pages/campaign/index?slug=${calendar.campaigns[0].slug}`])
})

test('a network failure is shown in Chinese, not as a blank page', async () => {
  wxs.network.up = false
  const page = await wxs.openPage('home')
  assert.strictEqual(page.querySelector('.error').dom.textContent, '网络不给力，请检查网络后重试')
  assert.strictEqual(page.querySelectorAll('.campaign').length, 0)
})
