import { describeFlinkRestClient } from "./suite";

// The newest 2.x release in scripts/sandbox/flink-versions.json.
describeFlinkRestClient("2");
