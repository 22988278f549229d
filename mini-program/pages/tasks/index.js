// A campaign's tasks and its new-customer plan: progress on each task, the check-in streak, reading timed by the
// backend, forms shown back, images for staff review. Tasks done elsewhere (a quiz level, a poster, a team) open
// their own pages; the backend counts them when they happen.
const { request } = require('../../utils/request')
const { messageFor } = require('../../utils/errors')
const { askConsent } = require('../../utils/subscribe')

// Where a task that is done on another page is done.
const ELSEWHERE = {
  quiz_pass: { action: '去答题', page: (slug) => `/pages/quiz/index?slug=${slug}` },
  poster_made: { action: '去制作', page: (slug, task) => `/pages/poster/index?slug=${slug}&activity=${task.activity}` },
  team_completed: { action: '去组队', page: (slug, task) => `/pages/team/index?slug=${slug}&activity=${task.activity}` },
  referral_credited: { action: '去邀请', page: () => '/pages/invite/index' },
  phone_bound: { action: '去绑定', page: () => '/pages/me/index' },
  coupon_used: { action: '查看卡券', page: () => '/pages/coupons/index' },
}
const UPLOAD_STATUS = { pending: '已上传，等待工作人员审核', approved: '审核通过', rejected: '未通过' }

function rewardText(reward) {
  if (!reward) return ''
  const parts = []
  if (reward.points) parts.push(`${reward.points}积分`)
  if (reward.chances) parts.push(`${reward.chances}次抽奖机会`)
  if (reward.coupon) parts.push('一张优惠券')
  return parts.join(' + ')
}

function dayText(time) {
  const [date] = time.split('T')
  const [, month, day] = date.split('-')
  return `${Number(month)}月${Number(day)}日解锁`
}

function answersText(task) {
  if (!task.answers) return ''
  return task.fields
    .filter((f) => task.answers[f.name] !== undefined)
    .map((f) => `${f.label} ${task.answers[f.name]}${f.unit || ''}`)
    .join('，')
}

function taskView(task) {
  const elsewhere = ELSEWHERE[task.kind]
  let action = elsewhere ? elsewhere.action : ''
  if (task.kind === 'check_in') action = ''
  if (task.kind === 'content_read') action = '去阅读'
  const upload = task.upload
  return {
    id: task.id,
    kind: task.kind,
    title: task.title,
    day: task.day || 0,
    tip: task.tip ? `${task.tip.title}：${task.tip.body}` : '',
    unlocked: task.unlocked,
    unlocksText: task.unlocks_at ? dayText(task.unlocks_at) : '',
    progress: task.progress,
    target: task.target,
    done: task.done,
    reward: rewardText(task.reward),
    action,
    fields: task.fields || [],
    draft: { ...(task.answers || {}) },
    answersText: answersText(task),
    prompt: task.prompt || '',
    uploadText: upload ? UPLOAD_STATUS[upload.status] + (upload.reason ? `（${upload.reason}）` : '') : '',
    canUpload: !upload || upload.status === 'rejected',
  }
}

function readFile(filePath) {
  return new Promise((resolve, reject) => {
    wx.getFileSystemManager().readFile({ filePath, success: (res) => resolve(res.data), fail: reject })
  })
}

function chooseImage() {
  return new Promise((resolve, reject) => {
    wx.chooseMedia({
      count: 1,
      mediaType: ['image'],
      sizeType: ['compressed'],
      success: (res) => resolve(res.tempFiles[0]),
      fail: reject,
    })
  })
}

Component({
  data: { activities: [], checkIn: { offered: false }, reading: null, error: '', notice: '', busy: false },
  methods: {
    // The plan's daily reminder is a subscribe message: one allow, one day's reminder.
    async remindMe() {
      this.setData({ error: '', notice: '' })
      try {
        const settings = await askConsent(['DEMO_PLAN_DAY'])
        this.setData({ notice: settings ? '已订阅明天的计划提醒' : '未开启提醒，可随时再来订阅' })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async onLoad(query) {
      this.slug = query.slug
      await this.refresh()
    },
    async refresh() {
      try {
        const board = await request({ path: `/api/v1/campaigns/${this.slug}/tasks` })
        this.tasks = {}
        const activities = board.activities.map((activity) => {
          const tasks = activity.tasks.map((task) => {
            this.tasks[`${activity.slug}/${task.id}`] = task
            return taskView(task)
          })
          return {
            slug: activity.slug,
            name: activity.name,
            plan: activity.kind === 'plan',
            eligible: activity.eligible,
            open: activity.open,
            done: activity.done,
            reward: rewardText(activity.reward),
            tasks,
          }
        })
        const offered = board.activities.some((a) => a.open && a.tasks.some((t) => t.kind === 'check_in'))
        const { streak, checked_in_today: today } = board.check_in
        this.setData({
          activities,
          checkIn: { offered, today, text: streak > 0 ? `已连续签到${streak}天` : '今天还没有签到' },
        })
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    async run(action) {
      if (this.data.busy) return
      this.setData({ busy: true, error: '', notice: '' })
      try {
        await action()
      } catch (error) {
        this.setData({ error: error.message })
      }
      this.setData({ busy: false })
    },
    paidText(paid) {
      const text = (paid || []).map((p) => rewardText(p.paid)).filter(Boolean).join('，')
      return text ? `，获得${text}` : ''
    },
    checkIn() {
      return this.run(async () => {
        const done = await request({ path: `/api/v1/campaigns/${this.slug}/check-ins`, method: 'POST', data: {} })
        this.setData({ notice: `签到成功，已连续签到${done.streak}天${this.paidText(done.paid)}` })
        await this.refresh()
      })
    },
    act(event) {
      const { activity, task: id } = event.currentTarget.dataset
      const task = this.tasks[`${activity}/${id}`]
      if (task.kind === 'content_read') return this.startReading(task)
      const elsewhere = ELSEWHERE[task.kind]
      if (elsewhere) wx.navigateTo({ url: elsewhere.page(this.slug, task) })
      return undefined
    },
    startReading(task) {
      return this.run(async () => {
        const opened = await request({ path: `/api/v1/campaigns/${this.slug}/contents/${task.content}/open`, method: 'POST', data: {} })
        this.setData({ reading: { content: task.content, title: task.title, body: task.body || '', minSeconds: opened.min_seconds } })
      })
    },
    finishReading() {
      return this.run(async () => {
        const read = await request({ path: `/api/v1/campaigns/${this.slug}/contents/${this.data.reading.content}/read`, method: 'POST', data: {} })
        this.setData({ reading: null, notice: `阅读完成${this.paidText(read.paid)}` })
        await this.refresh()
      })
    },
    draftOf(activity, id) {
      const a = this.data.activities.findIndex((x) => x.slug === activity)
      const t = this.data.activities[a].tasks.findIndex((x) => x.id === id)
      return { a, t, draft: this.data.activities[a].tasks[t].draft }
    },
    setDraft(dataset, value) {
      const { a, t, draft } = this.draftOf(dataset.activity, dataset.task)
      this.setData({ [`activities[${a}].tasks[${t}].draft`]: { ...draft, [dataset.field]: value } })
    },
    onField(event) {
      this.setDraft(event.currentTarget.dataset, event.detail.value)
    },
    choose(event) {
      this.setDraft(event.currentTarget.dataset, event.currentTarget.dataset.value)
    },
    submitForm(event) {
      const { activity, task: id } = event.currentTarget.dataset
      const { draft } = this.draftOf(activity, id)
      const task = this.tasks[`${activity}/${id}`]
      const answers = {}
      for (const field of task.fields) {
        const value = draft[field.name]
        if (value === undefined || value === '') continue
        answers[field.name] = field.kind === 'number' ? Number(value) : value
      }
      return this.run(async () => {
        const saved = await request({
          path: `/api/v1/campaigns/${this.slug}/tasks/${activity}/${id}/form`,
          method: 'POST',
          data: { answers },
        })
        this.setData({ notice: `已保存${this.paidText(saved.paid)}` })
        await this.refresh()
      })
    },
    uploadImage(event) {
      const { activity, task: id } = event.currentTarget.dataset
      return this.run(async () => {
        const file = await chooseImage()
        if (file.size > 1024 * 1024) throw new Error(messageFor('payload_too_large'))
        const data = await readFile(file.tempFilePath)
        const type = /\.jpe?g$/i.test(file.tempFilePath) ? 'image/jpeg' : 'image/png'
        await request({
          path: `/api/v1/campaigns/${this.slug}/tasks/${activity}/${id}/upload`,
          method: 'POST',
          data,
          contentType: type,
        })
        this.setData({ notice: '已上传，审核通过后计入任务' })
        await this.refresh()
      })
    },
  },
})
