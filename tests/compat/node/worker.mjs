// Test-only worker: the unmodified npm client camunda-external-task-client-js against /engine-rest, signed in
// with HTTP Basic. Usage: node worker.mjs BASE_URL USERNAME PASSWORD WORKER_ID TOPIC[,TOPIC…]
// compat.work: the start variable `mode` picks complete | fail (Camunda retries, 500 ms apart) | reject (BPMN error).
// permit.issue_camunda: completes with a permit number.
import { BasicAuthInterceptor, Client, Variables, logger } from "camunda-external-task-client-js";

const [baseUrl, username, password, workerId, topicList] = process.argv.slice(2);
const client = new Client({
  baseUrl, workerId, use: logger, asyncResponseTimeout: 2000, interval: 100, lockDuration: 20000,
  interceptors: new BasicAuthInterceptor({ username, password }),
});

async function work({ task, taskService }) {
  const mode = task.variables.get("mode");
  if (mode === "complete") {
    const result = new Variables()
      .set("result", 42).set("label", "js").set("details", { ok: true, by: "js" })
      .set("checked_on", new Date(Date.UTC(2026, 2, 2, 1, 0, 0)));
    await taskService.complete(task, result);
  } else if (mode === "fail") {
    const retries = task.retries === null || task.retries === undefined ? 1 : task.retries - 1;
    await taskService.handleFailure(task, { errorMessage: "js says no", errorDetails: "stack…", retries,
                                            retryTimeout: 500 });
  } else if (mode === "reject") {
    await taskService.handleBpmnError(task, "REJECTED", "rejected by js", new Variables().set("reason", "js-reason"));
  }
}

async function issue({ task, taskService }) {
  await taskService.complete(task, new Variables().set("permit_no", `JS-${task.id.slice(0, 8)}`));
}

const handlers = { "compat.work": work, "permit.issue_camunda": issue };
for (const topic of topicList.split(",")) {
  client.subscribe(topic, handlers[topic]);
}
client.on("poll:error", (error) => console.error(`poll error: ${error}`));
client.on("handler:error", (error) => console.error(`handler error: ${error}`));
process.on("SIGTERM", () => { client.stop(); process.exit(0); });
