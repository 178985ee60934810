import { describeFlinkRestClient } from "./suite";

describeFlinkRestClient("1.20");
