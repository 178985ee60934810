import { describeSessionJobs } from "./session-jobs";

// The newest 2.x release in scripts/sandbox/flink-versions.json.
describeSessionJobs("2");
