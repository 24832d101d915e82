import { ResultStore } from "@uws-kit/core"
import { testResultStore } from "@uws-kit/core/ResultStoreSuite"

testResultStore({ name: "memory", make: async () => ResultStore.makeMemory() })
