// "My prizes" and the delivery of a physical prize, from the lottery page to the parcel's tracking number,
// against a backend whose calendar makes each customer's first draw a physical prize and the next a coupon.
const test = require('node:test')
const assert = require('node:assert')
const path = require('node:path')
const { useBackend } = require('./support/app')
const wxs = require('./support/wx')
const { request } = require('../utils/request')

const CAMPAIGN = 'mp-prizes-2026'
const POOL = 'mp-prizes'
const calendarFile = path.join(__dirname, 'fixtures', 'prizes-calendar.toml')

const app = useBackend(async () => {}, { env: { APP__DEMO__CALENDAR_FILE: calendarFile } })

async function staffCall(token, method, route, body) {
  const res = await fetch(`${app.backend.baseUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

function texts(page, selector) {
  return page.querySelectorAll(selector).map((node) => node.dom.textContent)
}

async function drawOnce(page) {
  page.querySelector('.draw').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.reveal'), 'the prize reveal')
  await wxs.until(() => !page.data.drawing, 'the draw to finish')
}

test('a physical prize drawn is in my prizes; its address is given once; staff export and ship it; the customer sees the parcel', async (t) => {
  const lottery = await wxs.openPage('lottery', { slug: CAMPAIGN, pool: POOL })
  assert.strictEqual(lottery.querySelector('.chances').dom.textContent, '剩余抽奖机会：3 次')
  await drawOnce(lottery)
  assert.strictEqual(lottery.querySelector('.reveal .title').dom.textContent, '恭喜获得：定制2027年历')
  assert.match(lottery.querySelector('.reveal').dom.textContent, /填写收货地址/)
  await wxs.until(() => lottery.querySelector('.chances').dom.textContent === '剩余抽奖机会：2 次', 'the chances to drop')
  lottery.querySelector('.prizes').dispatchEvent('tap')
  await wxs.simulate.sleep(0)
  assert.deepStrictEqual(wxs.navigations, ['/pages/prizes/index'])

  const prizes = await wxs.openPage('prizes')
  assert.deepStrictEqual(texts(prizes, '.prize .title'), ['定制2027年历'])
  assert.strictEqual(prizes.querySelector('.state').dom.textContent, '待填写收货地址')
  prizes.querySelector('.fill').dispatchEvent('tap')
  await wxs.until(() => prizes.querySelector('.form'), 'the address form')

  // A wrong phone number is named at its field, and nothing is stored.
  const type = (field, value) => prizes.querySelector(`#${field}`).dispatchEvent('input', { detail: { value } })
  type('recipient', '张三')
  type('phone', '1234567')
  type('address', '广东省深圳市南山区科技园科苑路88号')
  prizes.querySelector('.submit').dispatchEvent('tap')
  await wxs.until(() => prizes.querySelector('.error'), 'the refusal')
  assert.strictEqual(prizes.querySelector('.error').dom.textContent, '请填写11位手机号码')
  assert.strictEqual(prizes.querySelector('.state').dom.textContent, '待填写收货地址')

  type('phone', '13912345678')
  prizes.querySelector('.submit').dispatchEvent('tap')
  await wxs.until(() => prizes.querySelector('.notice'), 'the submission notice')
  assert.strictEqual(prizes.querySelector('.state').dom.textContent, '已提交地址，等待发货')
  assert.match(prizes.querySelector('.delivery').dom.textContent, /张三 139\*\*\*\*5678/)
  assert.strictEqual(prizes.querySelector('.fill'), undefined, 'the address is given once')

  // A second submission (a stale page, a second tap elsewhere) is refused in Chinese.
  const drawId = prizes.data.prizes[0].drawId
  await assert.rejects(
    request({ path: `/api/v1/me/prizes/${drawId}/address`, method: 'POST', data: { recipient: '李四', phone: '13800001111', address: '北京市朝阳区建国路1号' } }),
    (error) => error.code === 'address_already_submitted' && error.message === '该奖品已填写过收货地址',
  )

  // The fulfilment staff export the address in full, then ship it.
  const fulfilment = await app.backend.staffToken('fulfilment')
  const operator = await app.backend.staffToken('operator')
  const masked = await staffCall(operator, 'GET', '/admin/v1/deliveries')
  assert.strictEqual(masked.status, 200)
  assert.ok(!masked.text.includes('13912345678') && !masked.text.includes('科苑路'), 'staff lists are masked')
  assert.ok(masked.text.includes('张*') && masked.text.includes('139****5678'), masked.text)
  assert.strictEqual((await staffCall(operator, 'GET', '/admin/v1/deliveries/export')).status, 403)
  const exported = await staffCall(fulfilment, 'GET', '/admin/v1/deliveries/export')
  assert.strictEqual(exported.status, 200)
  const row = exported.text.split('\n').find((line) => line.includes('13912345678'))
  assert.ok(row && row.includes('张三') && row.includes('科苑路88号'), exported.text)
  const deliveryId = Number(row.split(',')[0])
  const shipped = await staffCall(fulfilment, 'POST', `/admin/v1/deliveries/${deliveryId}/ship`, { carrier: '顺丰速运', tracking_number: 'SF1234567890' })
  assert.strictEqual(shipped.status, 200, shipped.text)

  const again = await wxs.openPage('prizes')
  assert.strictEqual(again.querySelector('.state').dom.textContent, '已发货')
  assert.strictEqual(again.querySelector('.shipment').dom.textContent, '物流：顺丰速运 SF1234567890')
  t.after(() => {
    lottery.detach()
    prizes.detach()
    again.detach()
  })
})

test('a coupon prize is issued into my coupons, needs no address, and an empty prize list says so', async () => {
  const empty = await wxs.openPage('prizes')
  assert.match(empty.dom.textContent, /还没有奖品/)

  const lottery = await wxs.openPage('lottery', { slug: CAMPAIGN, pool: POOL })
  await drawOnce(lottery)
  await drawOnce(lottery)
  assert.strictEqual(lottery.querySelector('.reveal .title').dom.textContent, '恭喜获得：10元立减金')

  const prizes = await wxs.openPage('prizes')
  assert.deepStrictEqual(texts(prizes, '.prize .title'), ['10元立减金', '定制2027年历'], 'newest first')
  assert.strictEqual(prizes.querySelector('.state').dom.textContent, '已发放至我的优惠券')
  const coupons = await wxs.openPage('coupons')
  assert.match(coupons.dom.textContent, /10元立减金/)

  const couponDraw = prizes.data.prizes[0].drawId
  await assert.rejects(
    request({ path: `/api/v1/me/prizes/${couponDraw}/address`, method: 'POST', data: { recipient: '张三', phone: '13912345678', address: '广东省深圳市南山区科技园' } }),
    (error) => error.code === 'prize_not_physical' && error.message === '该奖品无需填写收货地址',
  )
})

test('points buy a draw chance on the lottery page, once per tap, and too few points are refused in Chinese', async (t) => {
  const { login } = require('../utils/request')
  const user = await login()
  const operator = await app.backend.staffToken('operator')
  const res = await fetch(`${app.backend.baseUrl}/admin/v1/points/adjustments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}`, 'idempotency-key': `mp-grant-${user.id}` },
    body: JSON.stringify({ user_id: user.id, delta: 70 }),
  })
  assert.strictEqual(res.status, 200, await res.text())

  const lottery = await wxs.openPage('lottery', { slug: CAMPAIGN, pool: POOL })
  t.after(() => lottery.detach())
  assert.strictEqual(lottery.querySelector('.buy').dom.textContent, '用50积分兑换1次抽奖机会')
  lottery.querySelector('.buy').dispatchEvent('tap')
  await wxs.until(() => lottery.querySelector('.notice'), 'the exchange notice')
  await wxs.until(() => lottery.querySelector('.chances').dom.textContent === '剩余抽奖机会：4 次', 'one more chance')

  // 20 points are left: the next exchange is refused, and nothing is spent or granted.
  lottery.querySelector('.buy').dispatchEvent('tap')
  await wxs.until(() => lottery.querySelector('.error'), 'the refusal')
  assert.strictEqual(lottery.querySelector('.error').dom.textContent, '积分不足')
  const points = await request({ path: '/api/v1/me/points' })
  assert.strictEqual(points.balance, 20)
  assert.strictEqual(lottery.querySelector('.chances').dom.textContent, '剩余抽奖机会：4 次')
  const buys = wxs.network.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/chances'))
  assert.strictEqual(buys.length, 2)
  assert.notStrictEqual(buys[0].header['idempotency-key'], buys[1].header['idempotency-key'], 'each tap its own exchange')
})
