// The dashboard's views: one module each, listed here once. A view is a component receiving
// `{params, session}` (`params` from its path pattern); `nav` puts it in the top navigation.
// Adding a view: write views/NAME.js, add a line here, and (for a new first path segment) add it
// to VIEWS in dashboard/routes.py so the server answers that path with the dashboard.
import { Hive } from "./hive.js";
import { Agent } from "./agent.js";
import { Tasks } from "./tasks.js";
import { Timeline } from "./timeline.js";
import { Activity } from "./activity.js";
import { Cost } from "./cost.js";
import { Pipeline } from "./pipeline.js";
import { Insights } from "./insights.js";
import { Settings } from "./settings.js";

export const VIEWS = [
  { path: "/", nav: "The Hive", title: "The Hive", component: Hive },
  { path: "/agents/:agentId", title: "Agent", component: Agent },
  { path: "/tasks", nav: "Tasks", title: "Tasks", component: Tasks },
  { path: "/tasks/:taskId", title: "Task", component: Timeline },
  { path: "/activity", nav: "Activity", title: "Activity", component: Activity },
  { path: "/cost", nav: "Cost", title: "Cost explorer", component: Cost },
  { path: "/pipeline", nav: "Pipeline", title: "Pipeline", component: Pipeline },
  { path: "/insights", nav: "Insights", title: "Insights", component: Insights },
  { path: "/settings", nav: "Settings", title: "Settings", component: Settings },
];
