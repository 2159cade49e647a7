import type { TestProject } from 'vitest/node';
import { type AzuriteInstance, startAzurite } from '../../dev/azurite.js';

declare module 'vitest' {
  export interface ProvidedContext {
    storageConnection: string;
  }
}

let azurite: AzuriteInstance | undefined;

/** One in-memory Azurite on random ports for the whole run; tests reach it with inject('storageConnection'). */
export async function setup(project: TestProject) {
  azurite = await startAzurite();
  project.provide('storageConnection', azurite.connectionString);
}

export async function teardown() {
  await azurite?.stop();
}
