// A team-up: make a team of a team activity and share its page; a friend who opens it joins. The reward is for
// the team that completes (every seat taken, everyone played), never for sharing (WeChat's rules).
const { request, newIdempotencyKey } = require('../../utils/request')

const STATUS = { open: '组队中', complete: '组队成功', expired: '已过期' }

function rewardText(reward) {
  if (!reward) return ''
  const parts = []
  if (reward.points) parts.push(`${reward.points}积分`)
  if (reward.chances) parts.push(`${reward.chances}次抽奖机会`)
  if (reward.coupon) parts.push('一张优惠券')
  return parts.join(' + ')
}

function view(team) {
  const seats = []
  for (let seat = 1; seat <= team.size; seat += 1) {
    const member = team.members.find((m) => m.seat === seat)
    seats.push({
      seat,
      label: member ? (member.leader ? '队长' : `队员${seat}`) : '虚位以待',
      taken: Boolean(member),
      done: member ? member.done : false,
      you: team.your_seat === seat,
    })
  }
  return {
    code: team.code,
    name: team.activity_name,
    status: STATUS[team.status] || team.status,
    complete: team.status === 'complete',
    open: team.status === 'open',
    seatsLeft: team.seats_left,
    seats,
    task: team.quiz_level ? `每位队员通过第${team.quiz_level}关后组队成功` : '',
    reward: rewardText(team.reward),
    consolation: rewardText(team.consolation),
  }
}

Component({
  data: { team: null, error: '', notice: '', busy: false, canJoin: false, canCreate: false },
  methods: {
    async onLoad(query) {
      this.code = query.code
      this.slug = query.slug
      this.activity = query.activity
      await this.load()
    },
    async load() {
      this.setData({ error: '' })
      try {
        let team = null
        if (this.code) {
          team = await request({ path: `/api/v1/teams/${this.code}` })
        } else {
          team = await request({ path: `/api/v1/campaigns/${this.slug}/teams/${this.activity}/mine` }).catch((error) => {
            if (error.code === 'team_not_found') return null
            throw error
          })
        }
        this.show(team)
      } catch (error) {
        this.setData({ error: error.message })
      }
    },
    show(team) {
      if (team) this.code = team.code
      this.setData({
        team: team ? view(team) : null,
        canCreate: !team && Boolean(this.slug),
        canJoin: Boolean(team && team.status === 'open' && !team.your_seat && team.seats_left > 0),
      })
    },
    async create() {
      if (this.data.busy) return
      this.setData({ busy: true, error: '' })
      try {
        const team = await request({ path: `/api/v1/campaigns/${this.slug}/teams/${this.activity}`, method: 'POST', data: {} })
        this.show(team)
        this.setData({ notice: '队伍已创建，邀请家人好友一起加入吧' })
      } catch (error) {
        this.setData({ error: error.message })
      }
      this.setData({ busy: false })
    },
    async join() {
      if (this.data.busy) return
      // One key per tap until an answer comes: a retry after a lost answer is the same join.
      this.joinKey = this.joinKey || newIdempotencyKey()
      this.setData({ busy: true, error: '' })
      try {
        const team = await request({ path: `/api/v1/teams/${this.code}/members`, method: 'POST', idempotencyKey: this.joinKey })
        this.joinKey = null
        this.show(team)
        this.setData({ notice: team.status === 'complete' ? '组队成功！奖励已发放' : '加入成功' })
      } catch (error) {
        if (error.status > 0) this.joinKey = null
        this.setData({ error: error.message })
      }
      this.setData({ busy: false })
    },
    onShareAppMessage() {
      // Without a team there is nothing to join: the share opens the campaign's team page instead.
      const path = this.code ? `/pages/team/index?code=${this.code}` : `/pages/team/index?slug=${this.slug}&activity=${this.activity}`
      return { title: '来和我组队吧', path }
    },
  },
})
