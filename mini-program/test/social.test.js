// Team-ups and invites, as two customers in turn: one makes a team and shares it, the other opens the share and
// joins; one invites, the other comes in by the shared path as a new customer. Against the real backend.
const test = require('node:test')
const assert = require('node:assert')
const path = require('node:path')
const { useBackend } = require('./support/app')
const wxs = require('./support/wx')
const { request } = require('../utils/request')

const CAMPAIGN = 'mp-social-2026'
const calendarFile = path.join(__dirname, 'fixtures', 'social-calendar.toml')

useBackend(async () => {}, { env: { APP__DEMO__CALENDAR_FILE: calendarFile } })

async function balance() {
  return (await request({ path: '/api/v1/me/points' })).balance
}

test('a team made on its page is joined from the shared page, completes, and pays each member once', async () => {
  const campaign = await wxs.openPage('campaign', { slug: CAMPAIGN })
  await wxs.until(() => campaign.querySelectorAll('.activity').length === 3, 'the activities')
  campaign.querySelectorAll('.activity')[0].dispatchEvent('tap')
  await wxs.simulate.sleep(0)
  assert.deepStrictEqual(wxs.navigations, [`/pages/team/index?slug=${CAMPAIGN}&activity=mp-duo`])

  const mine = await wxs.openPage('team', { slug: CAMPAIGN, activity: 'mp-duo' })
  mine.querySelector('.create').dispatchEvent('tap')
  await wxs.until(() => mine.querySelector('.code'), 'the new team')
  assert.strictEqual(mine.querySelector('.status').dom.textContent, '组队中（还差1人）')
  assert.strictEqual(mine.querySelector('.reward').dom.textContent, '组队成功奖励：每人30积分')
  const code = mine.data.team.code
  const share = mine.instance.onShareAppMessage()
  assert.strictEqual(share.path, `/pages/team/index?code=${code}`)
  assert.strictEqual(mine.querySelector('.join'), undefined, 'no join button on one\'s own team')
  const leaderToken = wx.getStorageSync('wxc_token')

  // The friend: another WeChat user opening the shared page.
  wxs.resetSession()
  const shared = await wxs.openPage('team', { code })
  await wxs.until(() => shared.querySelector('.join'), 'the join button')
  shared.querySelector('.join').dispatchEvent('tap')
  await wxs.until(() => shared.querySelector('.notice'), 'the join answer')
  assert.strictEqual(shared.querySelector('.notice').dom.textContent, '组队成功！奖励已发放')
  assert.strictEqual(shared.querySelector('.status').dom.textContent, '组队成功')
  assert.strictEqual(await balance(), 30)
  // A second tap, a stale page: refused in Chinese, nothing paid again.
  await assert.rejects(
    request({ path: `/api/v1/teams/${code}/members`, method: 'POST', idempotencyKey: 'a-second-join-key' }),
    (error) => error.code === 'already_in_team' && error.message === '你已在本活动的一支队伍中',
  )
  assert.strictEqual(await balance(), 30)

  wx.setStorageSync('wxc_token', leaderToken)
  assert.strictEqual(await balance(), 30)
})

test('a friend who first comes in by the shared path is credited, once, and the milestone pays', async () => {
  const invite = await wxs.openPage('invite')
  await wxs.until(() => invite.querySelector('.progress'), 'the invite progress')
  assert.strictEqual(invite.querySelector('.progress').dom.textContent, '已邀请 0/1 位好友')
  const sharePath = invite.instance.onShareAppMessage().path
  const code = invite.data.invite.code
  assert.strictEqual(sharePath, `/pages/home/index?inviter=${code}`)
  const inviterToken = wx.getStorageSync('wxc_token')

  // The friend opens the shared path: the home page keeps the code, the first login carries it.
  wxs.resetSession()
  const query = Object.fromEntries(new URLSearchParams(sharePath.split('?')[1]))
  await wxs.openPage('home', query)
  const me = await wxs.openPage('me')
  await wxs.until(() => wx.getStorageSync('wxc_token'), 'the friend\'s login')
  assert.strictEqual(wx.getStorageSync('wxc_inviter'), '', 'the code is used once')
  assert.ok(me)

  wx.setStorageSync('wxc_token', inviterToken)
  const after = await wxs.openPage('invite')
  await wxs.until(() => after.querySelector('.reached'), 'the reached milestone')
  assert.strictEqual(after.querySelector('.progress').dom.textContent, '已邀请 1/1 位好友')
  assert.strictEqual(after.querySelector('.reached').dom.textContent, '已达成，20积分已发放')
  assert.strictEqual(await balance(), 20)
})

test('a wish card is checked, drawn and shown, and pays its points once a day; refused words are said in Chinese', async () => {
  const page = await wxs.openPage('poster', { slug: CAMPAIGN, activity: 'mp-wish' })
  page.querySelector('#text').dispatchEvent('input', { detail: { value: '不当内容' } })
  page.querySelector('.make').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.error'), 'the refusal')
  assert.strictEqual(page.querySelector('.error').dom.textContent, '内容未通过安全检查，请修改后重试')
  assert.strictEqual(page.querySelector('.poster'), undefined)

  page.querySelector('#text').dispatchEvent('input', { detail: { value: '全家健康，存款翻倍' } })
  page.querySelector('.make').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.poster'), 'the card')
  assert.strictEqual(page.querySelector('.notice').dom.textContent, '海报已生成，获得5积分')
  assert.strictEqual(page.querySelector('.words').dom.textContent, '全家健康，存款翻倍')
  const image = await fetch(page.data.poster.image)
  assert.strictEqual(image.status, 200)
  assert.strictEqual(image.headers.get('content-type'), 'image/png')

  page.querySelector('.make').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice') && page.querySelector('.notice').dom.textContent === '海报已生成', 'the second card')
  assert.strictEqual(await balance(), 5, 'once a day')
})
