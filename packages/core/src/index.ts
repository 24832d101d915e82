/**
 * @uws-kit/core: the pure UWS core.
 *
 * @since 0.1.0
 */
export * as Content from "./Content.js"
export * as Dispatcher from "./Dispatcher.js"
export * as Errors from "./Errors.js"
export * as Identity from "./Identity.js"
export * as Job from "./Job.js"
export * as JobDocument from "./JobDocument.js"
export * as JobEvent from "./JobEvent.js"
export * as JobMachine from "./JobMachine.js"
export * as Lifecycle from "./Lifecycle.js"
export * as JobStore from "./JobStore.js"
export * as Phase from "./Phase.js"
export * as Plugin from "./Plugin.js"
export * as Policy from "./Policy.js"
export * as Quote from "./Quote.js"
export * as QuoteMachine from "./QuoteMachine.js"
export * as Result from "./Result.js"
export * as ResultStore from "./ResultStore.js"
export * as ResultView from "./ResultView.js"
export * as ServiceEvents from "./ServiceEvents.js"
export * as TerminationMachine from "./TerminationMachine.js"
export * as Uws from "./Uws.js"
export * as UwsPromise from "./UwsPromise.js"
export * as Worker from "./Worker.js"
