import { describe, expect, it } from "vitest";

import { loadList, saveList } from "./list-cache";

class MemoryStorage implements Storage {
  private values = new Map<string, string>();
  get length() {
    return this.values.size;
  }
  clear() {
    this.values.clear();
  }
  getItem(key: string) {
    return this.values.get(key) ?? null;
  }
  key(index: number) {
    return [...this.values.keys()][index] ?? null;
  }
  removeItem(key: string) {
    this.values.delete(key);
  }
  setItem(key: string, value: string) {
    this.values.set(key, value);
  }
}

describe("list cache", () => {
  it("gives back the pages and scroll of the same query only", () => {
    const storage = new MemoryStorage();
    const list = { query: "status=error", items: [], cursor: "abc", total: { count: 3, exact: true }, scrollY: 420 };
    saveList(list, storage);
    expect(loadList("status=error", storage)).toEqual(list);
    expect(loadList("status=ok", storage)).toBeNull();
  });

  it("survives a broken entry", () => {
    const storage = new MemoryStorage();
    storage.setItem("tracefoundry:trace-list", "{not json");
    expect(loadList("", storage)).toBeNull();
  });
});
