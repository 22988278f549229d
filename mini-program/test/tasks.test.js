// The task centre, as a customer uses it: check in and see the streak, read content for as long as the backend
// asks, fill in a form and see it shown back, upload a screenshot staff approve, and follow the new-customer
// plan day by day. Against the real backend.
const test = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { useBackend } = require('./support/app')
const wxs = require('./support/wx')
const { request } = require('../utils/request')

const CAMPAIGN = 'mp-tasks-2026'
const calendarFile = path.join(__dirname, 'fixtures', 'tasks-calendar.toml')
const app = useBackend(async () => {}, { env: { APP__DEMO__CALENDAR_FILE: calendarFile } })

async function balance() {
  return (await request({ path: '/api/v1/me/points' })).balance
}

function taskNode(page, title) {
  return page.querySelectorAll('.task').find((node) => node.dom.textContent.includes(title))
}

// The control `selector` of task `task` (j-component finds nodes from the page, not inside other nodes).
function control(page, selector, task, field) {
  return page
    .querySelectorAll(selector)
    .find((node) => node.dom.getAttribute('data-task') === task && (!field || node.dom.getAttribute('data-field') === field))
}

// A 2x2 PNG written to a temp file, as the photo picker hands one over.
function pngFile() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (buf) => {
    let c = 0xffffffff
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type), data])
    const sum = Buffer.alloc(4)
    sum.writeUInt32BE(crc(body))
    return Buffer.concat([length, body, sum])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(2, 0)
  header.writeUInt32BE(2, 4)
  header[8] = 8
  header[9] = 2
  const rows = Buffer.from([0, 255, 0, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0])
  const png = Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ])
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wxc-media-')), 'offer.png')
  fs.writeFileSync(file, png)
  return file
}

test('a check-in shows the streak and pays once; a second one the same day is refused in Chinese', async () => {
  const page = await wxs.openPage('tasks', { slug: CAMPAIGN })
  await wxs.until(() => page.querySelector('.check-in'), 'the check-in card')
  assert.strictEqual(page.querySelector('.streak').dom.textContent, '今天还没有签到')
  page.querySelector('.check-in').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice'), 'the check-in answer')
  assert.strictEqual(page.querySelector('.notice').dom.textContent, '签到成功，已连续签到1天，获得10积分')
  await wxs.until(() => page.querySelector('.streak').dom.textContent === '已连续签到1天', 'the streak')
  assert.strictEqual(page.querySelector('.check-in').dom.textContent, '今日已签到')
  assert.ok(taskNode(page, '每日签到').dom.textContent.includes('已完成'))
  await assert.rejects(
    request({ path: `/api/v1/campaigns/${CAMPAIGN}/check-ins`, method: 'POST', data: {} }),
    (error) => error.code === 'already_checked_in' && error.message === '今天已经签到过了，明天再来',
  )
  assert.strictEqual(await balance(), 10)
})

test('content counts as read only after the time the backend asks, and then pays', async () => {
  const page = await wxs.openPage('tasks', { slug: CAMPAIGN })
  await wxs.until(() => taskNode(page, '阅读理财小知识'), 'the reading task')
  control(page, '.act', 'read').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.reading'), 'the content')
  assert.strictEqual(page.querySelector('.body').dom.textContent, '先存后花，量入为出。')
  page.querySelector('.done-reading').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.error'), 'the early report refused')
  assert.strictEqual(page.querySelector('.error').dom.textContent, '阅读时间不足，请认真阅读后再完成')
  await new Promise((resolve) => setTimeout(resolve, 3200))
  page.querySelector('.done-reading').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice'), 'the read')
  assert.strictEqual(page.querySelector('.notice').dom.textContent, '阅读完成，获得5积分')
  assert.strictEqual(page.querySelector('.reading'), undefined)
  assert.strictEqual(await balance(), 5)
})

test('a form out of range is refused in Chinese; a good one is kept, shown back and pays once', async () => {
  const page = await wxs.openPage('tasks', { slug: CAMPAIGN })
  await wxs.until(() => taskNode(page, '设置月度预算'), 'the form task')
  const form = () => taskNode(page, '设置月度预算')
  control(page, '.field', 'budget', 'budget_yuan').dispatchEvent('input', { detail: { value: '50' } })
  control(page, '.option', 'budget', 'biggest').dispatchEvent('tap')
  control(page, '.submit', 'budget').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.error'), 'the refusal')
  assert.strictEqual(page.querySelector('.error').dom.textContent, '填写的内容不符合要求，请检查后重试')
  control(page, '.field', 'budget', 'budget_yuan').dispatchEvent('input', { detail: { value: '3000' } })
  control(page, '.submit', 'budget').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice'), 'the saved form')
  assert.strictEqual(page.querySelector('.notice').dom.textContent, '已保存，获得8积分')
  await wxs.until(() => form().dom.textContent.includes('已填写'), 'the answers shown back')
  assert.ok(form().dom.textContent.includes('已填写：每月预算 3000元，最大开销 餐饮'), form().dom.textContent)
  assert.strictEqual(await balance(), 8)
})

test('an uploaded screenshot waits for staff, and their approval completes the task', async () => {
  const page = await wxs.openPage('tasks', { slug: CAMPAIGN })
  await wxs.until(() => taskNode(page, '上传录用通知截图'), 'the upload task')
  wxs.nextMedia(pngFile())
  control(page, '.act', 'offer').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice'), 'the upload answer')
  assert.strictEqual(page.querySelector('.notice').dom.textContent, '已上传，审核通过后计入任务')
  await wxs.until(() => taskNode(page, '上传录用通知截图').dom.textContent.includes('等待工作人员审核'), 'the review status')
  assert.strictEqual(control(page, '.act', 'offer'), undefined, 'one upload at a time')

  const operator = await app.backend.staffToken('operator')
  const queue = await (await fetch(`${app.backend.baseUrl}/admin/v1/task-uploads`, { headers: { authorization: `Bearer ${operator}` } })).json()
  assert.strictEqual(queue.length, 1)
  const decided = await fetch(`${app.backend.baseUrl}/admin/v1/task-uploads/${queue[0].id}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
    body: JSON.stringify({ approve: true }),
  })
  assert.strictEqual(decided.status, 200)
  const after = await wxs.openPage('tasks', { slug: CAMPAIGN })
  await wxs.until(() => taskNode(after, '上传录用通知截图'), 'the task again')
  assert.ok(taskNode(after, '上传录用通知截图').dom.textContent.includes('已完成'))
  assert.strictEqual(await balance(), 6)
})

test('the new-customer plan shows today\'s tip and task, and the next day locked until its date', async () => {
  const page = await wxs.openPage('tasks', { slug: CAMPAIGN })
  await wxs.until(() => taskNode(page, '阅读新手第一课'), 'the plan')
  const first = taskNode(page, '阅读新手第一课')
  assert.ok(first.dom.textContent.includes('第1天'))
  assert.ok(first.dom.textContent.includes('💡 先存后花：收入到账先储蓄。'))
  assert.ok(control(page, '.act', 'day1-read'), 'day 1 can be done today')
  const second = taskNode(page, '完成签到')
  assert.ok(second.dom.className.includes('locked'))
  const tomorrow = new Date(Date.now() + 8 * 3600 * 1000 + 24 * 3600 * 1000)
  assert.ok(second.dom.textContent.endsWith(`第2天 ·完成签到${tomorrow.getUTCMonth() + 1}月${tomorrow.getUTCDate()}日解锁`), second.dom.textContent)
  assert.ok(!second.dom.textContent.includes('💡'), 'a locked day keeps its tip')
  // "Remind me every day": the prompt asks for the plan's template, and the allow is one reminder.
  page.querySelector('.remind-me').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.notice'), 'the reminder notice')
  assert.deepStrictEqual(wxs.subscribeAnswers.asked[0], ['DEMO_PLAN_DAY'])
  const settings = await request({ path: '/api/v1/me/messages' })
  assert.strictEqual(settings.consents.find((c) => c.template_id === 'DEMO_PLAN_DAY').remaining, 1)
})
