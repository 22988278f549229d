// The quiz: levels with their lock state and attempts left, play against the server's deadline, feedback with the
// explanation after each answer, the result, and the leaderboard with the caller's rank.
const { request } = require('../../utils/request')

function secondsUntil(deadline) {
  return deadline ? Math.max(0, Math.ceil((Date.parse(deadline) - Date.now()) / 1000)) : 0
}

Component({
  data: {
    title: '',
    levels: [],
    question: null,
    options: [],
    chosen: [],
    secondsLeft: 0,
    feedback: null,
    result: null,
    board: null,
    error: '',
  },
  lifetimes: {
    detached() {
      this.stopTimer()
    },
  },
  methods: {
    async onLoad(query) {
      this.slug = query.slug
      await this.loadLevels()
    },
    onUnload() {
      this.stopTimer()
    },
    base() {
      return `/api/v1/campaigns/${this.slug}/quiz`
    },
    async loadLevels() {
      try {
        const progress = await request({ path: `${this.base()}/progress` })
        this.setData({
          title: progress.quiz,
          levels: progress.levels.map((l) => ({
            level: l.level,
            name: l.name,
            unlocked: l.unlocked,
            passed: l.passed,
            attemptsLeft: l.attempts_left_today,
            // An attempt still in play (the app was closed mid-quiz) is resumed, not started again.
            activeAttempt: l.active_attempt || '',
            reward: `${l.reward_points}积分${l.reward_chances ? ` + ${l.reward_chances}次抽奖` : ''}`,
          })),
        })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async start(event) {
      const level = event.currentTarget.dataset.level
      this.setData({ error: '', result: null, feedback: null, board: null })
      try {
        const attempt = await request({ path: `${this.base()}/levels/${level}/attempts`, method: 'POST' })
        this.attemptId = attempt.attempt_id
        this.show(attempt.question, attempt.answer_by)
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async resume(event) {
      const attemptId = event.currentTarget.dataset.attempt
      this.setData({ error: '', result: null, feedback: null, board: null })
      try {
        const attempt = await request({ path: `${this.base()}/attempts/${attemptId}` })
        this.attemptId = attempt.attempt_id
        if (attempt.question) {
          this.show(attempt.question, attempt.answer_by)
        } else {
          // Its time ran out while the app was closed: it is over, and the levels say so.
          this.setData({ error: attempt.result ? '' : '上次的答题已超时结束' })
          if (attempt.result) this.showResult(attempt.result)
          await this.loadLevels()
        }
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    show(question, answerBy) {
      this.stopTimer()
      this.answerBy = answerBy
      // Set while an answer is on its way, so a second tap does not answer twice.
      this.answered = false
      this.setData({ question, options: this.marked(question, []), chosen: [], feedback: null, secondsLeft: secondsUntil(answerBy) })
      // The server's deadline is the timer; the countdown only shows it.
      this.timer = setInterval(() => this.setData({ secondsLeft: secondsUntil(this.answerBy) }), 1000)
    },
    // WXML cannot call methods, so each option carries whether it is chosen.
    marked(question, chosen) {
      return question.options.map((o) => ({ id: o.id, text: o.text, chosen: chosen.includes(o.id) }))
    },
    stopTimer() {
      if (this.timer) clearInterval(this.timer)
      this.timer = null
    },
    choose(event) {
      const id = event.currentTarget.dataset.id
      const { question } = this.data
      if (!question || this.answered) return undefined
      const multiple = question.kind === 'multiple'
      const chosen = multiple
        ? this.data.chosen.includes(id)
          ? this.data.chosen.filter((c) => c !== id)
          : [...this.data.chosen, id]
        : [id]
      this.setData({ chosen, options: this.marked(question, chosen) })
      if (!multiple) return this.submit()
      return undefined
    },
    async submit() {
      const { question, chosen } = this.data
      if (!question || chosen.length === 0 || this.answered) return
      this.answered = true
      this.stopTimer()
      try {
        const answer = await request({
          path: `${this.base()}/attempts/${this.attemptId}/answers`,
          method: 'POST',
          data: { question: question.number, options: chosen },
        })
        this.pending = answer
        this.setData({
          feedback: {
            correct: answer.correct,
            late: answer.late,
            correctOptions: answer.correct_options.join('、'),
            explanation: answer.explanation,
            last: !answer.next_question,
          },
        })
      } catch (error) {
        this.answered = false
        this.setData({ error: error.message })
      }
    },
    async next() {
      const answer = this.pending
      if (!answer) return
      this.pending = null
      if (answer.next_question) {
        this.show(answer.next_question, answer.answer_by)
        return
      }
      this.showResult(answer.result)
      await Promise.all([this.loadLevels(), this.loadBoard()])
    },
    showResult(r) {
      this.setData({
        question: null,
        feedback: null,
        result: {
          score: r.score,
          passScore: r.pass_score,
          passed: r.passed,
          rewards: r.passed ? `${r.points}积分${r.chances ? ` + ${r.chances}次抽奖` : ''}` : '',
        },
      })
    },
    async loadBoard() {
      try {
        const board = await request({ path: `${this.base()}/leaderboard` })
        this.setData({ board: { top: board.top, you: board.you } })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
  },
})
