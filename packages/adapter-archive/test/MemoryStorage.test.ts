import { MemoryStorage } from "@uws-kit/adapter-archive"
import { testStoragePlugin } from "@uws-kit/adapter-archive/testing"

testStoragePlugin({ name: "memory", make: () => ({ plugin: MemoryStorage.make() }), reportsSha256: true })
