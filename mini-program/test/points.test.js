const test = require('node:test')
const assert = require('node:assert')
const { useBackend, liveCampaign } = require('./support/app')
const wxs = require('./support/wx')
const { login } = require('../utils/request')

let live
const app = useBackend(async (backend) => {
  live = (await liveCampaign(backend)).slug
})

async function grantPoints(userId, delta) {
  const token = await app.backend.staffToken('operator')
  const res = await fetch(`${app.backend.baseUrl}/admin/v1/points/adjustments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': `grant-${userId}-${delta}` },
    body: JSON.stringify({ user_id: userId, delta }),
  })
  assert.strictEqual(res.status, 200, await res.text())
}

test('a redemption from the catalogue lowers the balance, and the statement shows it', async () => {
  const user = await login()
  await grantPoints(user.id, 1000)
  const catalogue = await (await fetch(`${app.backend.baseUrl}/api/v1/campaigns/${live}/catalogue`)).json()
  const item = catalogue.items.find((i) => i.cost_points <= 1000)

  const page = await wxs.openPage('points', { slug: live })
  assert.strictEqual(page.querySelector('.balance').dom.textContent, '1000')
  const row = page.querySelectorAll('.item').findIndex((r) => r.dom.textContent.includes(item.name))
  page.querySelectorAll('.redeem')[row].dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice'), 'the redemption notice')
  assert.strictEqual(page.querySelector('.notice').dom.textContent, `兑换成功：${item.name}，剩余积分 ${1000 - item.cost_points}`)
  await wxs.until(() => page.querySelector('.balance').dom.textContent === String(1000 - item.cost_points), 'the new balance')
  assert.strictEqual(page.querySelectorAll('.entry').length, 2, 'the grant and the redemption')
  assert.ok(page.querySelectorAll('.entry')[0].dom.textContent.includes(`-${item.cost_points}`))

  // The item's per-customer limit is shown in Chinese, and nothing more is spent.
  if (item.per_user_limit === 1) {
    page.querySelectorAll('.redeem')[row].dispatchEvent('tap')
    await wxs.until(() => page.querySelector('.error'), 'the refusal')
    assert.strictEqual(page.querySelector('.error').dom.textContent, '已达兑换上限')
    const statement = await (await fetch(`${app.backend.baseUrl}/api/v1/me/points`, { headers: { authorization: `Bearer ${wxs.storage.get('wxc_token')}` } })).json()
    assert.strictEqual(statement.balance, 1000 - item.cost_points)
  }
})

test('coupons page: a customer with none is told so', async () => {
  const page = await wxs.openPage('coupons')
  assert.strictEqual(page.querySelector('.muted').dom.textContent, '暂无优惠券')
})
