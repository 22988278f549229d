// The messages page, against the real backend: the consent prompt (one "allow" is one message), and the switch
// that stops every campaign message.
const test = require('node:test')
const assert = require('node:assert')
const { useBackend } = require('./support/app')
const wxs = require('./support/wx')
const { request } = require('../utils/request')

useBackend()

// What the page says is left of template `id` (j-component finds nodes from the page, not inside other nodes).
function left(page, id) {
  return page.querySelectorAll('.left').find((node) => node.dom.getAttribute('data-id') === id).dom.textContent
}

test('messages: each allow in the prompt is one more reminder; a refusal or a closed prompt adds none', async () => {
  const page = await wxs.openPage('messages')
  assert.strictEqual(left(page, 'DEMO_PLAN_DAY'), '未订阅')
  wxs.nextSubscribeAnswers({ DEMO_PLAN_DAY: 'accept', DEMO_COUPON_EXPIRING: 'reject', DEMO_CAMPAIGN_NOTICE: 'accept' })
  page.querySelector('.subscribe').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice'), 'the notice')
  assert.deepStrictEqual(wxs.subscribeAnswers.asked[0], ['DEMO_PLAN_DAY', 'DEMO_COUPON_EXPIRING', 'DEMO_CAMPAIGN_NOTICE'])
  assert.strictEqual(left(page, 'DEMO_PLAN_DAY'), '可接收1次')
  assert.strictEqual(left(page, 'DEMO_COUPON_EXPIRING'), '未订阅')
  // Again: one more for each allowed.
  wxs.nextSubscribeAnswers(null)
  page.querySelector('.subscribe').dispatchEvent('tap')
  await wxs.until(() => left(page, 'DEMO_PLAN_DAY') === '可接收2次', 'the second consent')
  assert.strictEqual(left(page, 'DEMO_COUPON_EXPIRING'), '可接收1次')
  // The prompt closed without an answer: nothing is reported.
  const before = wxs.network.requests.length
  wxs.nextSubscribeAnswers('fail')
  page.querySelector('.subscribe').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice') && /未开启/.test(page.querySelector('.notice').dom.textContent), 'the closed prompt')
  assert.strictEqual(wxs.network.requests.length, before)
  const settings = await request({ path: '/api/v1/me/messages' })
  const plan = settings.consents.find((c) => c.template_id === 'DEMO_PLAN_DAY')
  assert.strictEqual(plan.remaining, 2)
})

test('messages: switching campaign messages off is kept by the backend, and on again', async () => {
  const page = await wxs.openPage('messages')
  page.querySelector('.switch').dispatchEvent('change', { detail: { value: false } })
  await wxs.until(() => page.querySelector('.notice'), 'the notice')
  assert.match(page.querySelector('.notice').dom.textContent, /已关闭/)
  assert.strictEqual((await request({ path: '/api/v1/me/messages' })).opted_out, true)
  page.querySelector('.switch').dispatchEvent('change', { detail: { value: true } })
  await wxs.until(() => page.querySelector('.notice') && /已开启/.test(page.querySelector('.notice').dom.textContent), 'switched on')
  assert.strictEqual((await request({ path: '/api/v1/me/messages' })).opted_out, false)
})
