import { ContainerIndex, CopyCatalogue } from "@uws-kit/adapter-archive"
import { testContainerIndex } from "@uws-kit/adapter-archive/ContainerIndexSuite"

testContainerIndex({ name: "memory", make: async () => ContainerIndex.makeMemory(), copies: async () => CopyCatalogue.makeMemory() })
