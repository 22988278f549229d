const test = require('node:test')
const assert = require('node:assert')
const { useBackend, liveCampaign } = require('./support/app')
const wxs = require('./support/wx')

let live
useBackend(async (backend) => {
  live = await liveCampaign(backend)
})

test('a quiz played through by taps: each answer gets its explanation, then the result and the leaderboard', async (t) => {
  const quiz = live.activities.find((a) => a.kind === 'quiz')
  const page = await wxs.openPage('quiz', { slug: live.slug })
  t.after(() => page.detach()) // stops the countdown's interval, pass or fail
  const levels = page.querySelectorAll('.level')
  assert.strictEqual(levels.length, quiz.config.levels.length)
  assert.match(levels[0].dom.textContent, /今日剩余 3 次/)
  assert.match(levels[1].dom.textContent, /通过上一关后解锁/)

  page.querySelector('.start').dispatchEvent('tap')
  await wxs.until(() => page.querySelector('.question'), 'the first question')
  const questions = quiz.config.levels[0].questions
  let correct = 0
  for (let n = 1; n <= questions; n += 1) {
    const header = page.querySelector('.question').dom.textContent
    assert.ok(header.includes(`第 ${n} / ${questions} 题`), header)
    assert.match(header, /剩余\s*\d+\s*秒/)
    page.querySelectorAll('.option')[0].dispatchEvent('tap')
    // A double tap on a single-choice question 1 answers once (a second answer would come back as already_answered).
    if (n === 1 && page.instance.data.question.kind !== 'multiple') page.querySelectorAll('.option')[0].dispatchEvent('tap')
    if (page.instance.data.question.kind === 'multiple') {
      // A multiple-choice question waits for 提交 after the options are chosen.
      await wxs.until(() => page.querySelector('.option.chosen'), `option chosen on question ${n}`)
      page.querySelector('.submit').dispatchEvent('tap')
    }
    await wxs.until(() => page.querySelector('.feedback') || page.querySelector('.error'), `feedback on question ${n}`)
    assert.strictEqual(page.querySelector('.error'), undefined, `no error on question ${n}`)
    const verdict = page.querySelector('.verdict').dom.textContent
    assert.ok(['回答正确', '回答错误', '超时了'].includes(verdict), verdict)
    if (verdict === '回答正确') correct += 1
    assert.ok(page.querySelector('.explanation').dom.textContent.length > 5, 'the explanation is shown')
    page.querySelector('.next').dispatchEvent('tap')
    if (n < questions) await wxs.until(() => !page.querySelector('.feedback') && page.querySelector('.question'), `question ${n + 1}`)
  }
  const answers = wxs.network.requests.filter((r) => r.url.endsWith('/answers'))
  assert.strictEqual(answers.length, questions, 'one answer sent per question')
  const result = await wxs.until(() => page.querySelector('.result'), 'the result')
  assert.ok(result.dom.textContent.includes(`得分 ${correct}`), result.dom.textContent)
  await wxs.until(() => page.querySelector('.board'), 'the leaderboard')
  // One attempt spent: the level list says so.
  await wxs.until(() => /今日剩余 2 次/.test(page.querySelectorAll('.level')[0].dom.textContent), 'attempts left 2')
})

test('a quiz left mid-question is resumed where it was when the page opens again', async (t) => {
  const first = await wxs.openPage('quiz', { slug: live.slug })
  t.after(() => first.detach())
  first.querySelector('.start').dispatchEvent('tap')
  await wxs.until(() => first.querySelector('.question'), 'the first question')
  const asked = first.instance.data.question
  first.detach() // the customer closes the app

  const again = await wxs.openPage('quiz', { slug: live.slug })
  t.after(() => again.detach())
  assert.strictEqual(again.querySelector('.start'), undefined, 'not started again')
  again.querySelector('.resume').dispatchEvent('tap')
  await wxs.until(() => again.querySelector('.question'), 'the resumed question')
  assert.strictEqual(again.instance.data.question.number, asked.number)
  assert.strictEqual(again.instance.data.question.stem, asked.stem)
  const starts = wxs.network.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/attempts'))
  assert.strictEqual(starts.length, 1, 'one attempt started')
  assert.ok(wxs.network.requests.some((r) => r.method === 'GET' && /\/quiz\/attempts\/[^/]+$/.test(r.url)), 'the attempt was fetched back')
})
