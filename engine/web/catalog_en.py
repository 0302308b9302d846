"""English for every Chinese string the pages wrap in `_()` (see engine/web/i18n.py).

tests/web/test_pages.py fails when a wrapped string, a status/light/event label or a department name has no
English here.
"""

EN: dict[str, str] = {
    # layout
    "工程建设项目审批": "Construction project approvals",
    "呼和浩特市行政审批和政务服务局": "Hohhot Administrative Approval and Government Services Bureau",
    "工程建设项目审批管理系统": "Construction Project Approval System",
    "待办任务": "Inbox", "项目查询": "Projects", "督办看板": "Supervision", "流程定义": "Process definitions",
    "退出": "Sign out", "时间均为北京时间（Asia/Shanghai）": "All times are Beijing time (Asia/Shanghai)",
    "个人身份信息已按规定脱敏显示": "Personal identity numbers are masked as required",
    # applicants' portal and front window links (issue 8; the portal pages themselves are Chinese only)
    "网上办事": "Online services", "一窗受理": "Front window", "企业首次网上办事？": "First time online for your enterprise?",
    "注册企业账户": "Register an enterprise account", "证照文书核验": "Verify a permit or notice",
    # sign-in
    "登录": "Sign in", "用户登录": "Sign in", "会话已超时，请重新登录。": "Your session timed out; please sign in again.",
    "用户名": "Username", "密码": "Password",
    "连续 5 次密码错误将锁定账户 30 分钟。": "Five wrong passwords in a row lock the account for 30 minutes.",
    "连续登录失败次数过多，账户已锁定，请于 %(time)s 后重试或联系管理员。":
        "Too many failed sign-ins: the account is locked. Try again after %(time)s or contact an administrator.",
    "账户已停用，请联系管理员。": "This account is disabled; contact an administrator.",
    "用户名或密码错误。": "Wrong username or password.", "您已安全退出。": "You have signed out.",
    "此账户没有可用的页面（服务任务账户请使用 API）。": "This account has no pages (service accounts use the API).",
    # errors
    "无权访问": "Forbidden", "未找到": "Not found", "请求被拒绝": "Request refused", "无法完成操作": "Could not complete",
    "返回首页": "Back to the start page", "您无权访问此页面或执行此操作。": "You may not open this page or do this.",
    "安全校验失败：表单缺少或带有无效的 CSRF 令牌，请刷新页面后重试。":
        "Security check failed: the form's CSRF token is missing or invalid. Reload the page and try again.",
    # inbox
    "共 %(n)s 件": "%(n)s in total", "全部": "All", "我的任务": "Mine", "部门待签收": "Unclaimed in my departments",
    "搜索": "Search", "项目名称、项目代码或统一社会信用代码": "Project name, project code or credit code",
    "全部部门": "All departments", "部门": "Department", "状态灯": "Light", "排序": "Sort",
    "按截止时间": "By due date", "按到达时间": "By arrival", "按项目名称": "By project name", "查询": "Search",
    "项目": "Project", "申请单位": "Applicant", "办理环节": "Step", "截止日期": "Due date",
    "剩余时限": "Time left", "办理人": "Assignee", "（未命名项目）": "(unnamed project)", "待签收": "Unclaimed",
    "签收": "Claim", "取消签收": "Release", "办理": "Work on it", "查看": "View",
    "没有符合条件的待办任务。": "No open tasks match.",
    "暂停计时": "Clock paused", "无时限": "No limit", "超期 %(n)s 个工作日": "%(n)s working days overdue",
    "剩余 %(n)s 个工作日": "%(n)s working days left",
    # task page
    "办理意见": "Decision", "必填": "required", "请选择": "Choose…", "是": "Yes", "提交": "Submit",
    "保存草稿": "Save draft", "草稿保存于 %(at)s": "Draft saved at %(at)s",
    "此任务由 %(user)s 办理中。": "%(user)s is working on this task.",
    "此任务已不在办理中。": "This task is no longer open.",
    "您可以查看此任务，但不能办理。": "You may view this task but not work on it.",
    "前序部门意见": "Earlier departments' opinions", "暂无前序部门意见。": "No earlier opinions yet.",
    "项目信息": "Project", "项目名称": "Project name", "项目代码": "Project code", "信用代码": "Credit code",
    "受理时间": "Accepted", "查看项目全程": "Whole project", "办理时限": "Deadline", "到达时间": "Arrived",
    "承诺截止": "Committed due", "转办": "Transfer", "转给": "To", "转办原因": "Reason",
    "本部门没有其他在岗审批人员。": "No other active clerk in this department.",
    "表单有 %(n)s 处需要修改，请查看标红的字段。": "%(n)s field(s) need correcting; see the fields marked in red.",
    "已提交「%(step)s」，项目已流转到下一环节。": "Submitted \u201c%(step)s\u201d; the project has moved on.",
    "草稿已保存。": "Draft saved.", "已签收，此任务由您办理。": "Claimed: this task is yours.",
    "已退回到部门待办。": "Released back to the department.",
    "请选择本部门的一位在岗审批人员。": "Choose an active clerk of this department.",
    "请填写转办原因。": "Give the reason for the transfer.", "已转办给 %(user)s。": "Transferred to %(user)s.",
    # projects
    "共 %(n)s 个": "%(n)s in total", "状态": "Status", "没有符合条件的项目。": "No projects match.",
    "当前环节": "Current steps", "没有正在办理的环节。": "No open steps.", "流程图": "Diagram",
    "已办环节与当前位置": "steps done and where it is now", "部门意见": "Opinions", "暂无部门意见。": "No opinions yet.",
    "办理历史": "History", "时间": "Time", "事项": "Event", "操作人": "By", "说明": "Detail", "流程": "Process",
    "受理人": "Accepted by", "办结时间": "Finished", "运维操作": "Repair", "挂起": "Suspend", "恢复": "Resume",
    "终止": "Terminate", "操作原因（必填）": "Reason (required)",
    "请填写操作原因，原因将记入项目历史。": "Give a reason; it is recorded in the project's history.",
    "操作已完成并记入历史。": "Done and recorded in the history.",
    # dashboard and definitions
    "本月自 %(d)s 起": "this month, since %(d)s", "办理中项目": "Open projects", "挂起项目": "Suspended projects",
    "临期任务": "Tasks due soon", "超期任务": "Overdue tasks", "本月办结项目": "Finished this month",
    "各部门办理情况": "By department", "在办": "Open", "临期": "Due soon", "超期": "Overdue",
    "本月办结": "Done this month", "本月超时默认": "Deemed approved this month", "暂无数据。": "No data yet.",
    "在办环节分布": "Open steps", "暂无在办环节。": "No open steps.", "流程标识": "Key", "名称": "Name",
    "版本": "Version", "文件": "File", "表单": "Forms", "部署时间": "Deployed", "部署人": "Deployed by",
    "尚未部署任何流程。": "Nothing deployed yet.",
    # statuses, lights, history events
    "办理中": "Running", "已挂起": "Suspended", "已办结": "Completed", "已终止": "Terminated", "待办": "Open",
    "已取消": "Cancelled", "正常": "On time",
    "项目受理": "Project accepted", "流程推进": "Process advanced", "办结": "Completed", "异常": "Incident",
    "环节开始": "Step started", "退回待办": "Released", "提交意见": "Opinion submitted", "环节取消": "Step cancelled",
    "超时默认同意": "Deemed approved", "计时开始": "Timer started", "计时到期": "Timer fired",
    "计时取消": "Timer cancelled", "恢复计时": "Clock resumed",
    # departments (processes/departments.toml)
    "行政审批和政务服务局": "Administrative Approval and Government Services Bureau",
    "发展和改革委员会": "Development and Reform Commission", "自然资源和规划局": "Natural Resources and Planning",
    "住房和城乡建设局": "Housing and Urban-Rural Development", "生态环境局": "Ecology and Environment",
    "人民防空办公室": "Civil Air Defence Office", "水务局": "Water Affairs", "林业和草原局": "Forestry and Grassland",
    "交通运输局": "Transport", "文物局": "Cultural Heritage", "施工图审查机构": "Construction drawing review agency",
    # auditor pages (issue 10: engine/web/audit.py, templates/audit/)
    "审计": "Audit", "项目审计": "Project audit", "办理历史、流程路径、回放与报表": "History, path, replay and reports",
    "项目编号、流程或实例号": "Project code, process or instance id", "项目编号": "Project code",
    "历史记录": "Events", "完整性校验": "Integrity check", "问责报表": "Accountability", "时限报表": "Time limits",
    "回放": "Replay", "按历史记录逐条重建项目状态": "Rebuild the project's state event by event",
    "上一条": "Previous", "下一条": "Next", "最新": "Latest", "回放位置": "Replay position",
    "第 %(k)s 条，共 %(n)s 条": "event %(k)s of %(n)s", "第 %(n)s 条": "event %(n)s", "最终状态": "final state",
    "回放校验通过：按全部 %(n)s 条记录重新执行，结果与存储的项目状态完全一致。":
        "Replay verified: re-running all %(n)s events gives exactly the stored state.",
    "回放至第 %(n)s 条记录，各步结果与历史记录一致。": "Replayed to event %(n)s; every step matches the history.",
    "回放结果与记录不一致：": "The replay differs from the history:",
    "截至第 %(n)s 条记录": "As of event %(n)s", "当时待办环节": "Open then", "当时没有待办环节。": "Nothing was open then.",
    "开始": "Started", "当时计时器": "Timers then", "到期时间": "Due", "当时的流程数据": "Process data then",
    "流程路径": "Path", "截至第 %(n)s 条记录：绿色为已办，蓝色为当时在办，橙色为已触发的计时器，紫色为超时默认同意":
        "As of event %(n)s: green done, blue open then, orange fired timers, purple deemed approvals",
    "工作日甘特图": "Gantt chart in working days", "甘特图": "Gantt chart",
    "每条记录含前一条的哈希，整条链由签名的链头保护":
        "Each event carries the previous one's hash; signed checkpoints and heads protect the chain",
    "导出 CSV": "Export CSV", "内容": "Content", "哈希": "Hash", "回放到此": "Replay to here",
    "重新计算每条历史链的哈希，并核对签名的检查点与链头":
        "Recompute every chain's hashes and check the signed checkpoints and heads",
    "发现 %(n)s 条历史链被改动：": "%(n)s history chain(s) were changed:", "历史链": "Chain",
    "首个问题记录": "First bad event", "问题": "Problem", "全部历史链校验通过：记录完整，未被修改。":
        "Every history chain verifies: complete and unchanged.",
    "超时默认同意与超期办理，按部门和环节": "Deemed approvals and overdue reviews by department and step",
    "合计：超期 %(o)s 件，超时默认同意 %(d)s 件。": "Total: %(o)s overdue, %(d)s deemed approvals.",
    "环节": "Step", "审查": "Reviews", "按时": "On time", "涉及项目": "Projects", "暂无审查环节。": "No reviews yet.",
    "已用工作日与总时限，暂停与分阶段用时": "Working days used against the cap, pauses and stages",
    "受理日": "Accepted", "已用": "Used", "上限": "Cap", "暂停": "Paused", "分阶段（工作日）": "Stages (working days)",
    "暂无项目。": "No projects yet.", "时限顺延": "Due date moved", "提前到期（待复核）": "Fired early (to review)",
    "服务任务创建": "Job created", "服务任务完成": "Job completed", "服务任务失败": "Job failed",
    "服务任务重试": "Job retried", "业务异常": "BPMN error", "服务任务取消": "Job cancelled", "流程部署": "Deployed",
}
