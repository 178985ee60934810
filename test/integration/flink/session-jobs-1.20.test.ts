import { describeSessionJobs } from "./session-jobs";

describeSessionJobs("1.20");
