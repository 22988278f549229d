const test = require('node:test')
const assert = require('node:assert')
const { useBackend, liveCampaign } = require('./support/app')
const wxs = require('./support/wx')

let live
const app = useBackend(async (backend) => {
  live = await liveCampaign(backend)
})

function lotteryActivity() {
  return live.activities.find((a) => a.kind === 'lottery' || a.kind === 'blind_box')
}

test('the campaign page publishes each pool\'s odds, prize values and guarantee rule from the API', async () => {
  const activity = lotteryActivity()
  const odds = await (await fetch(`${app.backend.baseUrl}/api/v1/campaigns/${live.slug}/lottery/${activity.config.pool}/odds`)).json()
  const page = await wxs.openPage('campaign', { slug: live.slug })
  const text = page.dom.textContent
  for (const prize of odds.prizes.filter((p) => !p.consolation)) {
    assert.ok(text.includes(`${prize.name}`) && text.includes(`概率${prize.probability}`), `${prize.name} is published`)
  }
  if (odds.guarantee) assert.ok(text.includes(`保底规则：${odds.guarantee}`))
  assert.ok(text.includes('活动规则'))
  const card = page.querySelectorAll('.activity').find((c) => c.dom.textContent.includes(activity.name))
  card.dispatchEvent('tap')
  await wxs.simulate.sleep(0)
  assert.deepStrictEqual(wxs.navigations, [`/pages/lottery/index?slug=${live.slug}&pool=${activity.config.pool}`])
})

test('a draw whose answer is lost is retried with the same key and draws once', async () => {
  const pool = lotteryActivity().config.pool
  const page = await wxs.openPage('lottery', { slug: live.slug, pool })
  // Log in first, so the lost answer is the draw's own.
  await require('../utils/request').login()

  wxs.network.loseAnswers = 1
  await page.instance.draw()
  assert.strictEqual(page.querySelector('.error').dom.textContent, '网络不给力，请检查网络后重试')
  assert.strictEqual(page.querySelector('.reveal'), undefined)

  await page.instance.draw()
  const reveal = page.querySelector('.reveal').dom.textContent
  assert.match(reveal, /(恭喜获得|很遗憾)：/)
  const draws = wxs.network.requests.filter((r) => r.url.endsWith('/draws'))
  assert.strictEqual(draws.length, 2)
  assert.strictEqual(draws[0].header['idempotency-key'], draws[1].header['idempotency-key'])

  // The demo pool gives one free chance a day: had the lost answer's draw counted twice, or the retry drawn
  // again, this would not be the first refusal; a new tap is a new draw and finds no chance.
  await page.instance.draw()
  assert.strictEqual(page.querySelector('.error').dom.textContent, '抽奖机会已用完')
  const third = wxs.network.requests.filter((r) => r.url.endsWith('/draws'))[2]
  assert.notStrictEqual(third.header['idempotency-key'], draws[0].header['idempotency-key'])
})
